package io.shoalfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.shoalfs.client.MetaClient;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.proto.meta.*;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Isolation (acceptance 4): a hostile client, speaking raw gRPC with a session scoped to subvolume A, sends every
 * operation with the inode numbers (and session ids) of subvolume B and of the root volume. Each gets ENOENT or
 * EACCES, and B is unchanged afterwards: its tree, chunk maps, xattrs, locks, opens, reservations and usage.
 * The same client still works inside A, and a call without any session may only do what a session-less client
 * needs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class IsolationTest {
  Path tmp;
  MetaCluster cluster;
  MetaClient admin;
  ManagedChannel channel;
  MetaServiceGrpc.MetaServiceBlockingStub stub;
  final ByteString clientId = ByteString.copyFrom(ByteBuffer.allocate(16)
      .putLong(UUID.randomUUID().getMostSignificantBits()).putLong(7).array());
  final AtomicLong callIds = new AtomicLong(1);

  long rootA;
  long rootB;
  long dirB;
  long fileB;
  long linkB;
  long sessionA;
  long sessionB;

  @BeforeAll
  void start() throws Exception {
    tmp = Files.createTempDirectory("shoal-isolation");
    cluster = MetaCluster.start(tmp, 1, MetaCluster.fastSingle());
    MetaServer leader = cluster.awaitLeader(Duration.ofSeconds(30));
    admin = cluster.client();
    admin.registerDaemon(StorageDaemon.newBuilder().setId("d1").setAddress("127.0.0.1:7001")
        .setCapacityBytes(1L << 40).build());
    rootA = admin.createSubvolume("iso-a", 1L << 30, 100).getRootIno();
    rootB = admin.createSubvolume("iso-b", 1L << 30, 100).getRootIno();
    dirB = admin.mkdir(rootB, "dir", 0755, 0, 0).getIno();
    fileB = admin.create(dirB, "file", 0644, 0, 0, true).getIno();
    admin.allocChunk(fileB, 0);
    admin.commitWrite(fileB, 5000, 0, List.of(Extent.newBuilder().setIndex(0).setLo(0).setHi(5000).build()));
    admin.setXattr(fileB, "user.owner", "b".getBytes(), 0);
    linkB = admin.symlink(rootB, "link", "dir/file".getBytes(), 0, 0).getIno();

    HostPort addr = leader.clientAddress();
    channel = NettyChannelBuilder.forAddress(addr.host(), addr.port()).usePlaintext().build();
    stub = MetaServiceGrpc.newBlockingStub(channel);
    sessionA = ok(call(0, MetaRequest.newBuilder().setOpenSession(OpenSessionRequest.newBuilder()
        .setClientName("hostile").setScopeRoot(rootA)).build())).getSession().getSessionId();
    sessionB = ok(call(0, MetaRequest.newBuilder().setOpenSession(OpenSessionRequest.newBuilder()
        .setClientName("b-mount").setScopeRoot(rootB)).build())).getSession().getSessionId();
    // B's own mount holds the file open with a lock and a reservation: the hostile client must not touch them.
    ok(call(sessionB, MetaRequest.newBuilder().setOpenFile(OpenFileRequest.newBuilder().setSessionId(sessionB)
        .setIno(fileB)).build()));
    ok(call(sessionB, MetaRequest.newBuilder().setSetLock(SetLockRequest.newBuilder().setIno(fileB)
        .setLock(SessionOps.flock(sessionB, 1, LockType.WRITE))).build()));
    ok(call(sessionB, MetaRequest.newBuilder().setReserve(ReserveRequest.newBuilder().setIno(fileB)
        .setBytes(1 << 20)).build()));
  }

  @AfterAll
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    }
    if (cluster != null) {
      cluster.close();
    }
    TestDirs.deleteRecursively(tmp);
  }

  /** One raw call as session {@code session}, with a fresh call id (renewing the test's sessions first). */
  MetaReply call(long session, MetaRequest req) {
    return stub.withDeadlineAfter(20, TimeUnit.SECONDS).call(MetaCall.newBuilder().setClientId(clientId)
        .setCallId(callIds.getAndIncrement()).setSessionId(session).setRequest(req).build());
  }

  static MetaReply ok(MetaReply r) {
    assertEquals(Code.OK, r.getCode(), r.getMessage());
    return r;
  }

  void renew(long session) {
    ok(call(0, MetaRequest.newBuilder().setRenewSession(RenewSessionRequest.newBuilder().setSessionId(session))
        .build()));
  }

  /** Everything of B a request could change, as the replica holds it. */
  Map<String, Object> stateOfB() throws Exception {
    MetaServer leader = cluster.awaitLeader(Duration.ofSeconds(10));
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("tree", Trees.dump(leader.stateMachine()::readLocal, rootB));
    s.put("xattrs", leader.stateMachine().readLocal(MetaRequest.newBuilder().setListXattr(
        ListXattrRequest.newBuilder().setIno(fileB)).build()).getXattrNames());
    s.put("lock", leader.stateMachine().dump(MetaTables.LOCKS, 1000).get(fileB));
    s.put("usage", leader.stateMachine().dump(MetaTables.USAGE, 1000).get(rootB));
    s.put("opens", leader.stateMachine().dump(MetaTables.OPENS, 1000).keySet().stream()
        .filter(k -> k.second() == fileB).toList());
    s.put("reservations", leader.stateMachine().dump(MetaTables.RESERVATIONS, 1000).toString());
    s.put("subvolumes", leader.stateMachine().dump(MetaTables.SUBVOLUMES, 1000));
    s.put("sessionB", leader.stateMachine().dump(MetaTables.SESSIONS, 1000).containsKey(sessionB));
    return s;
  }

  /** Every operation, naming B's inodes (and B's session where a request names one). */
  List<MetaRequest> attacks(long target, long dir, long file, long link, long session) {
    List<MetaRequest> r = new ArrayList<>();
    r.add(MetaRequest.newBuilder().setLookup(LookupRequest.newBuilder().setParent(dir).setName("file")).build());
    r.add(MetaRequest.newBuilder().setGetAttr(GetAttrRequest.newBuilder().setIno(file)).build());
    r.add(MetaRequest.newBuilder().setGetAttr(GetAttrRequest.newBuilder().setIno(target)).build());
    r.add(MetaRequest.newBuilder().setReadDir(ReadDirRequest.newBuilder().setIno(target)).build());
    r.add(MetaRequest.newBuilder().setMkdir(MkdirRequest.newBuilder().setParent(target).setName("evil")
        .setMode(0755)).build());
    r.add(MetaRequest.newBuilder().setCreate(CreateRequest.newBuilder().setParent(dir).setName("evil")
        .setMode(0644)).build());
    r.add(MetaRequest.newBuilder().setCreate(CreateRequest.newBuilder().setParent(dir).setName("file")
        .setMode(0644)).build()); // an existing name: would open it
    r.add(MetaRequest.newBuilder().setUnlink(UnlinkRequest.newBuilder().setParent(dir).setName("file")).build());
    r.add(MetaRequest.newBuilder().setRmdir(RmdirRequest.newBuilder().setParent(target).setName("dir")).build());
    r.add(MetaRequest.newBuilder().setRename(RenameRequest.newBuilder().setSrcParent(dir).setSrcName("file")
        .setDstParent(rootA).setDstName("stolen")).build());
    r.add(MetaRequest.newBuilder().setRename(RenameRequest.newBuilder().setSrcParent(rootA).setSrcName("mine")
        .setDstParent(dir).setDstName("file")).build());
    r.add(MetaRequest.newBuilder().setRename(RenameRequest.newBuilder().setSrcParent(dir).setSrcName("file")
        .setDstParent(dir).setDstName("moved")).build());
    r.add(MetaRequest.newBuilder().setSetAttr(SetAttrRequest.newBuilder().setIno(file).setMode(0777)).build());
    r.add(MetaRequest.newBuilder().setSetAttr(SetAttrRequest.newBuilder().setIno(file).setSize(0)).build());
    r.add(MetaRequest.newBuilder().setGetChunks(GetChunksRequest.newBuilder().setIno(file)).build());
    r.add(MetaRequest.newBuilder().setAllocChunk(AllocChunkRequest.newBuilder().setIno(file).setIndex(3)).build());
    r.add(MetaRequest.newBuilder().setCommitWrite(CommitWriteRequest.newBuilder().setIno(file).setEnd(1 << 30))
        .build());
    r.add(MetaRequest.newBuilder().setStatFs(StatFsRequest.newBuilder().setRootIno(target)).build());
    r.add(MetaRequest.newBuilder().setSymlink(SymlinkRequest.newBuilder().setParent(dir).setName("evil")
        .setTarget(ByteString.copyFromUtf8("/etc"))).build());
    r.add(MetaRequest.newBuilder().setReadLink(ReadLinkRequest.newBuilder().setIno(link)).build());
    r.add(MetaRequest.newBuilder().setLink(LinkRequest.newBuilder().setIno(file).setNewParent(rootA)
        .setNewName("hardlink")).build());
    r.add(MetaRequest.newBuilder().setLink(LinkRequest.newBuilder().setIno(file).setNewParent(dir)
        .setNewName("hardlink")).build());
    r.add(MetaRequest.newBuilder().setMknod(MknodRequest.newBuilder().setParent(dir).setName("fifo")
        .setType(FileType.FIFO).setMode(0644)).build());
    r.add(MetaRequest.newBuilder().setSetXattr(SetXattrRequest.newBuilder().setIno(file).setName("user.owner")
        .setValue(ByteString.copyFromUtf8("a"))).build());
    r.add(MetaRequest.newBuilder().setGetXattr(GetXattrRequest.newBuilder().setIno(file).setName("user.owner"))
        .build());
    r.add(MetaRequest.newBuilder().setListXattr(ListXattrRequest.newBuilder().setIno(file)).build());
    r.add(MetaRequest.newBuilder().setRemoveXattr(RemoveXattrRequest.newBuilder().setIno(file)
        .setName("user.owner")).build());
    r.add(MetaRequest.newBuilder().setFallocate(FallocateRequest.newBuilder().setIno(file).setMode(3)
        .setOffset(0).setLength(4096)).build());
    r.add(MetaRequest.newBuilder().setOpenFile(OpenFileRequest.newBuilder().setSessionId(sessionA).setIno(file))
        .build());
    r.add(MetaRequest.newBuilder().setCloseFile(CloseFileRequest.newBuilder().setSessionId(session).setIno(file))
        .build());
    r.add(MetaRequest.newBuilder().setSetLock(SetLockRequest.newBuilder().setIno(file)
        .setLock(SessionOps.flock(sessionA, 9, LockType.WRITE))).build());
    r.add(MetaRequest.newBuilder().setSetLock(SetLockRequest.newBuilder().setIno(file)
        .setLock(SessionOps.flock(session, 1, LockType.UNLOCK))).build());
    r.add(MetaRequest.newBuilder().setGetLock(GetLockRequest.newBuilder().setIno(file)
        .setLock(SessionOps.flock(sessionA, 9, LockType.WRITE))).build());
    r.add(MetaRequest.newBuilder().setCancelLock(CancelLockRequest.newBuilder().setIno(file).setSessionId(session)
        .setOwner(1).setKind(LockKind.FLOCK)).build());
    r.add(MetaRequest.newBuilder().setReleaseLocks(ReleaseLocksRequest.newBuilder().setIno(file)
        .setSessionId(session).setOwner(1).setFlock(true)).build());
    r.add(MetaRequest.newBuilder().setReserve(ReserveRequest.newBuilder().setIno(file).setBytes(1 << 20)).build());
    // Administration is not a scoped session's business, whatever volume it names.
    r.add(MetaRequest.newBuilder().setDeleteSubvolume(DeleteSubvolumeRequest.newBuilder().setName("iso-b")
        .setForce(true)).build());
    r.add(MetaRequest.newBuilder().setResizeSubvolume(ResizeSubvolumeRequest.newBuilder().setName("iso-b")
        .setCapacityBytes(1)).build());
    r.add(MetaRequest.newBuilder().setCreateSubvolume(CreateSubvolumeRequest.newBuilder().setName("evil")
        .setCapacityBytes(1 << 20)).build());
    r.add(MetaRequest.newBuilder().setGetSubvolume(GetSubvolumeRequest.newBuilder().setName("iso-b")).build());
    r.add(MetaRequest.newBuilder().setListSubvolumes(ListSubvolumesRequest.getDefaultInstance()).build());
    r.add(MetaRequest.newBuilder().setRegisterDaemon(RegisterDaemonRequest.newBuilder().setDaemon(
        StorageDaemon.newBuilder().setId("d1").setAddress("10.0.0.1:1").setCapacityBytes(1))).build());
    return r;
  }

  @Test
  void aSessionScopedToAReachesNothingOfB() throws Exception {
    ok(call(sessionA, MetaRequest.newBuilder().setCreate(CreateRequest.newBuilder().setParent(rootA)
        .setName("mine").setMode(0644)).build()));
    Map<String, Object> before = stateOfB();
    List<MetaRequest> all = attacks(rootB, dirB, fileB, linkB, sessionB);
    // Also B's numbers through the root volume's number space: inode 1 is no more A's than B's.
    all.addAll(attacks(1, 1, fileB, linkB, sessionB));
    Set<Code> refused = Set.of(Code.ENOENT, Code.EACCES);
    for (MetaRequest r : all) {
      renew(sessionA);
      renew(sessionB);
      MetaReply reply = call(sessionA, r);
      assertTrue(refused.contains(reply.getCode()), r.getOpCase() + " " + r + " got " + reply.getCode() + " "
          + reply.getMessage() + " " + reply);
    }
    assertEquals(before, stateOfB(), "B is unchanged");

    // Inside A the same client works: the check refuses other volumes, not the client.
    Attr mine = ok(call(sessionA, MetaRequest.newBuilder().setLookup(LookupRequest.newBuilder().setParent(rootA)
        .setName("mine")).build())).getAttr();
    ok(call(sessionA, MetaRequest.newBuilder().setSetXattr(SetXattrRequest.newBuilder().setIno(mine.getIno())
        .setName("user.x").setValue(ByteString.copyFromUtf8("1"))).build()));
    ok(call(sessionA, MetaRequest.newBuilder().setStatFs(StatFsRequest.newBuilder().setRootIno(rootA)).build()));
    ok(call(sessionA, MetaRequest.newBuilder().setRename(RenameRequest.newBuilder().setSrcParent(rootA)
        .setSrcName("mine").setDstParent(rootA).setDstName("mine2")).build()));
  }

  @Test
  void withoutASessionOnlySessionlessCallsWork() throws Exception {
    Map<String, Object> before = stateOfB();
    for (MetaRequest r : List.of(
        MetaRequest.newBuilder().setGetAttr(GetAttrRequest.newBuilder().setIno(fileB)).build(),
        MetaRequest.newBuilder().setLookup(LookupRequest.newBuilder().setParent(dirB).setName("file")).build(),
        MetaRequest.newBuilder().setUnlink(UnlinkRequest.newBuilder().setParent(dirB).setName("file")).build(),
        MetaRequest.newBuilder().setStatFs(StatFsRequest.newBuilder().setRootIno(rootB)).build(),
        MetaRequest.newBuilder().setCommitWrite(CommitWriteRequest.newBuilder().setIno(fileB).setEnd(1)).build())) {
      MetaReply reply = call(0, r);
      assertEquals(Code.EACCES, reply.getCode(), r.getOpCase() + ": " + reply.getMessage());
    }
    assertEquals(before, stateOfB());
    // What a session-less client needs: the layout and subvolume administration.
    ok(call(0, MetaRequest.newBuilder().setGetLayout(GetLayoutRequest.getDefaultInstance()).build()));
    assertEquals(rootB, ok(call(0, MetaRequest.newBuilder().setGetSubvolume(GetSubvolumeRequest.newBuilder()
        .setName("iso-b")).build())).getSubvolume().getRootIno());
    // A session that does not exist is ESTALE, whatever it asks.
    assertEquals(Code.ESTALE, call(987654321L, MetaRequest.newBuilder().setGetAttr(GetAttrRequest.newBuilder()
        .setIno(rootA)).build()).getCode());
  }

  @Test
  void aScopedSessionCannotBeOpenedOnAFile() {
    MetaReply r = call(0, MetaRequest.newBuilder().setOpenSession(OpenSessionRequest.newBuilder()
        .setClientName("x").setScopeRoot(fileB)).build());
    assertEquals(Code.ENOTDIR, r.getCode(), r.getMessage());
  }
}
