package io.shoalfs.csi.core;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A CSI snapshot id: {@code shoal:s1:SUBVOLUME@SNAPSHOT}, the source subvolume and the snapshot's name in it
 * ({@code .snap/SNAPSHOT} at the subvolume's root). Versioned and self-describing like {@link VolumeId}: every
 * controller replica finds the snapshot from the id alone. At most {@link VolumeId#MAX_BYTES} bytes; the
 * separator {@code @} cannot occur in a subvolume name, so the id splits at its first {@code @}.
 *
 * @param subvolume the subvolume the snapshot was cut from
 * @param snapshot the snapshot's name within that subvolume
 */
public record SnapshotId(String subvolume, String snapshot) {
  public static final String PREFIX = "shoal:s1:";
  /** The same safe token as subvolume names: snapshot names become directory names under {@code .snap}. */
  static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
  /** Hashed names keep at least 64 bits of SHA-256, however long the subvolume name is. */
  private static final int MIN_HASH_HEX = 16;
  private static final int MAX_HASH_HEX = 40;

  public SnapshotId {
    if (!NAME.matcher(subvolume).matches() || !NAME.matcher(snapshot).matches()) {
      throw new IllegalArgumentException("bad snapshot id parts '" + subvolume + "', '" + snapshot + "'");
    }
    if (length(subvolume, snapshot) > VolumeId.MAX_BYTES) {
      throw new IllegalArgumentException("snapshot id for " + subvolume + "@" + snapshot + " exceeds "
          + VolumeId.MAX_BYTES + " bytes");
    }
  }

  public String encode() {
    return PREFIX + subvolume + "@" + snapshot;
  }

  public VolumeId source() {
    return new VolumeId(subvolume);
  }

  /** The id of an existing snapshot, if its names fit an id (a long name made by the CLI may not). */
  public static Optional<SnapshotId> of(String subvolume, String snapshot) {
    if (!NAME.matcher(subvolume).matches() || !NAME.matcher(snapshot).matches()
        || length(subvolume, snapshot) > VolumeId.MAX_BYTES) {
      return Optional.empty();
    }
    return Optional.of(new SnapshotId(subvolume, snapshot));
  }

  /** Parses an id from a request; empty if it is not one of ours. */
  public static Optional<SnapshotId> parse(String id) {
    if (id == null || !id.startsWith(PREFIX) || id.getBytes(StandardCharsets.UTF_8).length > VolumeId.MAX_BYTES) {
      return Optional.empty();
    }
    String rest = id.substring(PREFIX.length());
    int at = rest.indexOf('@');
    if (at < 0) {
      return Optional.empty();
    }
    return of(rest.substring(0, at), rest.substring(at + 1));
  }

  /**
   * The snapshot for a CreateSnapshot name on a source subvolume. The CO's names ({@code snapshot-<uuid>}) are
   * used as they are when the id fits; anything else is hashed, with as many hex digits as the id has room for
   * (at least 16). Deterministic in (subvolume, name), which makes CreateSnapshot idempotent by name.
   */
  public static SnapshotId forName(String subvolume, String csiName) {
    if (NAME.matcher(csiName).matches() && !csiName.startsWith("h-")
        && length(subvolume, csiName) <= VolumeId.MAX_BYTES) {
      return new SnapshotId(subvolume, csiName);
    }
    int room = VolumeId.MAX_BYTES - length(subvolume, "h-");
    int hex = Math.min(MAX_HASH_HEX, room);
    if (hex < MIN_HASH_HEX) {
      throw new IllegalStateException("subvolume name " + subvolume + " leaves no room for a snapshot name");
    }
    return new SnapshotId(subvolume, "h-" + hash(csiName).substring(0, hex));
  }

  static String hash(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }

  private static int length(String subvolume, String snapshot) {
    // Both parts are ASCII (the NAME pattern), so characters are bytes.
    return PREFIX.length() + subvolume.length() + 1 + snapshot.length();
  }

  @Override
  public String toString() {
    return encode();
  }
}
