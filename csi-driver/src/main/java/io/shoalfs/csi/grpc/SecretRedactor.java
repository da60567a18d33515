package io.shoalfs.csi.grpc;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import io.shoalfs.proto.csi.Csi;
import java.util.List;

/**
 * Copies a CSI message with every field marked {@code [(csi_secret) = true]} blanked out, at any depth. Driven by
 * the descriptors rather than a list of field names, so a secret field added by a later spec is covered without
 * touching this class. Map keys (secret names like "password") stay visible; values never do.
 */
public final class SecretRedactor {
  public static final String MASK = "***stripped***";

  private SecretRedactor() {}

  public static Message redact(Message m) {
    Message.Builder b = null;
    for (var e : m.getAllFields().entrySet()) {
      FieldDescriptor f = e.getKey();
      Object value = e.getValue();
      Object replacement = f.getOptions().getExtension(Csi.csiSecret) ? mask(f, value) : redactNested(f, value);
      if (replacement != value) {
        if (b == null) {
          b = m.toBuilder();
        }
        b.setField(f, replacement);
      }
    }
    return b == null ? m : b.build();
  }

  private static Object mask(FieldDescriptor f, Object value) {
    if (f.isMapField()) {
      FieldDescriptor valueField = f.getMessageType().findFieldByName("value");
      return ((List<?>) value).stream()
          .map(entry -> ((Message) entry).toBuilder().setField(valueField, MASK).build()).toList();
    }
    if (f.isRepeated()) {
      return ((List<?>) value).stream().map(v -> MASK).toList();
    }
    return f.getJavaType() == FieldDescriptor.JavaType.STRING ? MASK : f.getDefaultValue();
  }

  private static Object redactNested(FieldDescriptor f, Object value) {
    if (f.getJavaType() != FieldDescriptor.JavaType.MESSAGE || f.isMapField()) {
      return value;
    }
    if (f.isRepeated()) {
      List<?> list = (List<?>) value;
      List<Message> out = list.stream().map(v -> redact((Message) v)).toList();
      for (int i = 0; i < list.size(); i++) {
        if (out.get(i) != list.get(i)) {
          return out;
        }
      }
      return value;
    }
    return redact((Message) value);
  }
}
