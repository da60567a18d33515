# Sourced by bin/shoal and bin/test: finds a JDK >= 21 and exports JAVA, JAVA_HOME and SHOAL_JVM_FLAGS.
# Order: $JAVA_HOME, `java` on PATH, then the newest JDK under /usr/lib/jvm.

shoal_java_major() {
  "$1" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}' | cut -d. -f1
}

shoal_select_java() {
  local candidates=() c major best="" best_major=0
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME/bin/java")
  command -v java >/dev/null 2>&1 && candidates+=("$(readlink -f "$(command -v java)")")
  for c in /usr/lib/jvm/*/bin/java; do [ -x "$c" ] && candidates+=("$c"); done
  for c in "${candidates[@]}"; do
    [ -x "$c" ] || continue
    major=$(shoal_java_major "$c")
    [ -n "$major" ] || continue
    if [ "$major" -ge 21 ]; then
      # The first acceptable one in the order above wins: an explicit JAVA_HOME is respected.
      best="$c"; best_major="$major"; break
    fi
  done
  if [ -z "$best" ]; then
    echo "shoal: no JDK 21 or newer found (looked at JAVA_HOME, PATH, /usr/lib/jvm): get one from https://adoptium.net (apt: temurin-21-jdk) or your distribution (apt: openjdk-21-jdk-headless), or set JAVA_HOME" >&2
    return 1
  fi
  JAVA="$best"
  JAVA_HOME="$(dirname "$(dirname "$best")")"
  SHOAL_JVM_FLAGS="--enable-native-access=ALL-UNNAMED"
  if [ "$best_major" -ge 23 ]; then
    SHOAL_JVM_FLAGS="$SHOAL_JVM_FLAGS --sun-misc-unsafe-memory-access=allow"
  fi
  export JAVA JAVA_HOME SHOAL_JVM_FLAGS
}
