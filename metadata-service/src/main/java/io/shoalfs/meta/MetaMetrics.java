package io.shoalfs.meta;

import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.shoalfs.common.metrics.MeterGroup;
import io.shoalfs.meta.raft.MetaStateMachine;
import io.shoalfs.proto.meta.ListSubvolumesRequest;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.meta.Subvolume;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A metadata replica's figures, all tagged {@code replica=ID}: its Raft division (term, commit and applied
 * index, the lag between them, leadership), its RocksDB, and each volume's quota and usage (refreshed every
 * 5 s from this replica's own state, so every replica reports them, the leader's freshest). Request timers
 * per operation are {@code MetaGrpcService}'s.
 */
final class MetaMetrics implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MetaMetrics.class);
  private static final long REFRESH_SECONDS = 5;

  final MeterGroup group;
  private final MetaStateMachine sm;
  private final ScheduledExecutorService refresher;
  private final List<MultiGauge> volumeGauges = new ArrayList<>();
  private final List<ToLongFunction<Subvolume>> volumeFigures = new ArrayList<>();

  MetaMetrics(String id, RaftServer raft, RaftGroupId groupId, MetaStateMachine sm) {
    this.group = new MeterGroup("replica", id);
    this.sm = sm;
    group.gauge("shoal.raft.term", "current Raft term", raft, r -> info(r, groupId, Figure.TERM));
    group.gauge("shoal.raft.commit.index", "highest log index known committed", raft,
        r -> info(r, groupId, Figure.COMMIT));
    group.gauge("shoal.raft.applied.index", "highest log index applied to the state", raft,
        r -> info(r, groupId, Figure.APPLIED));
    group.gauge("shoal.raft.commit.lag", "committed entries not yet applied on this replica", raft,
        r -> info(r, groupId, Figure.COMMIT) - info(r, groupId, Figure.APPLIED));
    group.gauge("shoal.raft.leader", "1 on the leader, 0 elsewhere", raft, r -> info(r, groupId, Figure.LEADER));
    group.rocksdb("meta", sm::database);
    volume("shoal.volume.capacity", "a volume's byte quota", "bytes", Subvolume::getCapacityBytes);
    volume("shoal.volume.used", "a volume's allocated bytes", "bytes", Subvolume::getUsedBytes);
    volume("shoal.volume.reserved", "bytes reserved by a volume's open writers", "bytes",
        Subvolume::getReservedBytes);
    volume("shoal.volume.inodes.used", "a volume's inodes", null, Subvolume::getUsedInodes);
    volume("shoal.volume.inodes.limit", "a volume's inode quota (0: none)", null, Subvolume::getInodesLimit);
    volume("shoal.volume.mounts", "client sessions (mounts) scoped to a volume", null,
        s -> s.getMountSessions());
    refresher = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "meta-metrics-" + id);
      t.setDaemon(true);
      return t;
    });
    refresher.scheduleWithFixedDelay(this::refreshVolumes, 0, REFRESH_SECONDS, TimeUnit.SECONDS);
  }

  private enum Figure { TERM, COMMIT, APPLIED, LEADER }

  private static double info(RaftServer raft, RaftGroupId groupId, Figure f) {
    try {
      var division = raft.getDivision(groupId);
      return switch (f) {
        case TERM -> division.getInfo().getCurrentTerm();
        case COMMIT -> division.getRaftLog().getLastCommittedIndex();
        case APPLIED -> division.getInfo().getLastAppliedIndex();
        case LEADER -> division.getInfo().isLeader() ? 1 : 0;
      };
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    }
  }

  private void volume(String name, String description, String unit, ToLongFunction<Subvolume> figure) {
    volumeGauges.add(group.multiGauge(name, description, unit));
    volumeFigures.add(figure);
  }

  private void refreshVolumes() {
    try {
      MetaReply r = sm.readLocal(MetaRequest.newBuilder()
          .setListSubvolumes(ListSubvolumesRequest.getDefaultInstance()).build());
      if (r == null || !r.hasSubvolumes()) {
        return;
      }
      List<Subvolume> volumes = r.getSubvolumes().getSubvolumesList();
      for (int i = 0; i < volumeGauges.size(); i++) {
        ToLongFunction<Subvolume> f = volumeFigures.get(i);
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        for (Subvolume v : volumes) {
          long value = f.applyAsLong(v);
          rows.add(MultiGauge.Row.of(Tags.of("volume", v.getName()), value));
        }
        volumeGauges.get(i).register(rows, true);
      }
    } catch (RuntimeException e) {
      LOG.debug("volume metrics not refreshed: {}", e.toString());
    }
  }

  @Override
  public void close() {
    refresher.shutdownNow();
    group.close();
  }
}
