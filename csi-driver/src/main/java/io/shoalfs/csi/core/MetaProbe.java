package io.shoalfs.csi.core;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.common.Layout;
import io.shoalfs.common.net.MetaAddresses;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Readiness for the Probe RPC: the plugin is ready when the metadata service answers. Uses its own client with
 * a short deadline, because the CO calls Probe often and expects a quick answer, while the main client retries
 * for up to a minute through leader changes.
 */
public final class MetaProbe implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MetaProbe.class);
  private static final Duration DEADLINE = Duration.ofSeconds(3);

  private final MetaClient client;
  private volatile Boolean last;

  public MetaProbe(String metaAddrs) {
    this.client = new MetaClient(MetaAddresses.clientAddresses(metaAddrs), DEADLINE);
  }

  public boolean ready() {
    boolean ok;
    try {
      client.getAttr(Layout.ROOT_INO);
      ok = true;
    } catch (MetaException e) {
      ok = false;
      if (!Boolean.FALSE.equals(last)) {
        LOG.warn("not ready: metadata service does not answer: {}", e.getMessage());
      }
    }
    if (ok && !Boolean.TRUE.equals(last)) {
      LOG.info("ready: metadata service answers");
    }
    last = ok;
    return ok;
  }

  @Override
  public void close() {
    client.close();
  }
}
