package io.shoalfs.bench.fio;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;

/**
 * What one fio run reported ({@code --output-format=json}): the fio version and one result per job.
 *
 * @param fioVersion e.g. "fio-3.33"
 * @param jobs in the order fio ran them
 */
public record FioOutput(String fioVersion, List<Job> jobs) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public FioOutput {
    jobs = List.copyOf(jobs);
  }

  /**
   * One direction (read or write) of a job.
   *
   * @param ioBytes bytes moved
   * @param bwBytesPerSec fio's average bandwidth over the job's runtime
   * @param runtimeMs the job's runtime for this direction, as fio measured it (includes an end_fsync)
   */
  public record Direction(long ioBytes, long bwBytesPerSec, long runtimeMs) {
    private static final double MIB = 1024.0 * 1024.0;

    /**
     * Throughput in MiB/s. fio's runtime has millisecond resolution and a job that moved data in under
     * 1 ms reports a bandwidth of 0; such a job is counted as taking 1 ms (a lower bound on the time).
     */
    public double mibPerSec() {
      if (bwBytesPerSec > 0 || ioBytes == 0) {
        return bwBytesPerSec / MIB;
      }
      return ioBytes / MIB / 0.001;
    }
  }

  /** One job: its name, fio's error code (0 = success) and both directions. */
  public record Job(String name, int error, Direction read, Direction write) {}

  /** The job named {@code name}; throws if fio did not report it. */
  public Job job(String name) {
    return jobs.stream().filter(j -> j.name().equals(name)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("fio reported no job '" + name + "' (jobs: "
            + jobs.stream().map(Job::name).toList() + ")"));
  }

  /**
   * Parses fio's JSON report. fio may print warnings ahead of the JSON document, so parsing starts at the
   * first '{'.
   */
  public static FioOutput parse(String text) {
    int start = text.indexOf('{');
    if (start < 0) {
      throw new IllegalArgumentException("fio output holds no JSON report");
    }
    JsonNode root;
    try {
      root = JSON.readTree(text.substring(start));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("fio output is not valid JSON: " + e.getOriginalMessage(), e);
    }
    JsonNode jobs = root.path("jobs");
    if (!jobs.isArray() || jobs.isEmpty()) {
      throw new IllegalArgumentException("fio output has no jobs");
    }
    List<Job> parsed = new ArrayList<>();
    for (JsonNode job : jobs) {
      parsed.add(new Job(required(job, "jobname").asText(), required(job, "error").asInt(),
          direction(job, "read"), direction(job, "write")));
    }
    return new FioOutput(root.path("fio version").asText("unknown"), parsed);
  }

  private static Direction direction(JsonNode job, String name) {
    JsonNode d = required(job, name);
    return new Direction(required(d, "io_bytes").asLong(), required(d, "bw_bytes").asLong(),
        required(d, "runtime").asLong());
  }

  private static JsonNode required(JsonNode node, String field) {
    JsonNode value = node.get(field);
    if (value == null || value.isNull()) {
      throw new IllegalArgumentException("fio output lacks '" + field + "'");
    }
    return value;
  }
}
