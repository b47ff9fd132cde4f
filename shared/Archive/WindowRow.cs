using System.Text.Json.Serialization;
using Parquet.Serialization.Attributes;

namespace Streaming.Archive;

/// <summary>
/// One row of the archive: one classified window of one speaker (schema documented in docs/json-schema.md, "Parquet archive").
/// Column names are snake_case, the usual convention of SQL engines reading Parquet.
/// </summary>
public sealed class WindowRow
{
    [JsonPropertyName("tenant"), ParquetRequired] public string Tenant { get; set; } = "";
    [JsonPropertyName("call_id"), ParquetRequired] public string CallId { get; set; } = "";
    [JsonPropertyName("speaker"), ParquetRequired] public string Speaker { get; set; } = "";
    [JsonPropertyName("role"), ParquetRequired] public string Role { get; set; } = "";
    [JsonPropertyName("window_index")] public long WindowIndex { get; set; }
    [JsonPropertyName("start_seconds")] public double StartSeconds { get; set; }
    [JsonPropertyName("end_seconds")] public double EndSeconds { get; set; }
    [JsonPropertyName("label"), ParquetRequired] public string Label { get; set; } = "";
    [JsonPropertyName("voted_label"), ParquetRequired] public string VotedLabel { get; set; } = "";
    [JsonPropertyName("confidence")] public float Confidence { get; set; }

    /// <summary>In the order of the file's <c>emotion.labels</c> metadata; empty for silence.</summary>
    [JsonPropertyName("probabilities")] public float[] Probabilities { get; set; } = [];

    /// <summary>Wall-clock time of the last audio the window covers (UTC).</summary>
    [JsonPropertyName("event_time"), ParquetTimestamp(ParquetTimestampResolution.Milliseconds)] public DateTime EventTime { get; set; }

    /// <summary>The call's agent, from its metadata (<see cref="AgentMetadataKey"/>); null when the platform sent none.</summary>
    [JsonPropertyName("agent_id")] public string? AgentId { get; set; }

    /// <summary>The call's queue, from its metadata (<see cref="QueueMetadataKey"/>); null when the platform sent none.</summary>
    [JsonPropertyName("queue")] public string? Queue { get; set; }

    /// <summary>The call metadata keys of the agent and the queue (Twilio customParameters, AudioHook customConfig, the native start's metadata).</summary>
    public const string AgentMetadataKey = "agentId";

    public const string QueueMetadataKey = "queue";
}
