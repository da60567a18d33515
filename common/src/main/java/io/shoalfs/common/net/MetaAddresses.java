package io.shoalfs.common.net;

import java.util.List;

/**
 * The one documented rule that turns a metadata replica's Raft address into its client address.
 *
 * <p>Users pass the same list everywhere ({@code --peers} for the replicas, {@code --meta} for clients): the
 * addresses replicas use among themselves for Raft. Each replica serves clients (the {@code MetaService} gRPC
 * API) on the next port: {@code client port = raft port + 1}. So {@code --meta 127.0.0.1:9860} reaches the
 * client API at {@code 127.0.0.1:9861}.
 */
public final class MetaAddresses {
  public static final int CLIENT_PORT_OFFSET = 1;

  private MetaAddresses() {}

  public static HostPort clientAddress(HostPort raftAddress) {
    if (raftAddress.port() + CLIENT_PORT_OFFSET > 65535) {
      throw new IllegalArgumentException("raft port " + raftAddress.port() + " leaves no room for the client port");
    }
    return raftAddress.withPort(raftAddress.port() + CLIENT_PORT_OFFSET);
  }

  /** Parses ADDRS (comma list of raft HOST:PORT) into client addresses. */
  public static List<HostPort> clientAddresses(String addrs) {
    return HostPort.parseList(addrs).stream().map(MetaAddresses::clientAddress).toList();
  }
}
