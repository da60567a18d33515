package io.shoalfs.csi.core;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A CSI volume id: {@code shoal:v1:SUBVOLUME}. Versioned so a later layout can be told apart from this one, and
 * self-describing so every node can find the subvolume from the id alone, without a lookup table. At most
 * {@link #MAX_BYTES} bytes (the CSI limit for strings).
 *
 * @param subvolume the metadata service's subvolume name that holds the volume
 */
public record VolumeId(String subvolume) {
  public static final String PREFIX = "shoal:v1:";
  public static final int MAX_BYTES = 128;
  /** Subvolume names we create: safe in paths, logs and ids; the 100-byte bound keeps ids under 128 bytes. */
  private static final Pattern SUBVOLUME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");

  public VolumeId {
    if (!SUBVOLUME.matcher(subvolume).matches()) {
      throw new IllegalArgumentException("bad subvolume name '" + subvolume + "'");
    }
  }

  /** True if a subvolume of this name can be a CSI volume (other names exist, e.g. made by the CLI). */
  public static boolean isVolumeName(String subvolume) {
    return SUBVOLUME.matcher(subvolume).matches();
  }

  /** The id the CO stores and passes back. */
  public String encode() {
    return PREFIX + subvolume;
  }

  /** Parses an id from a request; empty if it is not one of ours (so it cannot name an existing volume). */
  public static Optional<VolumeId> parse(String id) {
    if (id == null || !id.startsWith(PREFIX) || id.getBytes(StandardCharsets.UTF_8).length > MAX_BYTES) {
      return Optional.empty();
    }
    String sub = id.substring(PREFIX.length());
    return SUBVOLUME.matcher(sub).matches() ? Optional.of(new VolumeId(sub)) : Optional.empty();
  }

  /**
   * The subvolume for a CreateVolume name. CO names are any Unicode up to 128 bytes; the common ones
   * ({@code pvc-<uuid>}) are used as they are so operators recognise them, anything else is hashed. The mapping
   * is deterministic, which is what makes CreateVolume idempotent by name.
   */
  public static VolumeId forName(String csiName) {
    if (SUBVOLUME.matcher(csiName).matches() && !csiName.startsWith("h-")) {
      return new VolumeId(csiName);
    }
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(csiName.getBytes(StandardCharsets.UTF_8));
      return new VolumeId("h-" + HexFormat.of().formatHex(d, 0, 20));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }

  @Override
  public String toString() {
    return encode();
  }
}
