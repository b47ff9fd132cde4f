using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;

namespace Streaming.Alerts;

/// <summary>
/// An alert: one episode of a rule's condition on one call. <see cref="Time"/> is the event time of the audio that
/// completed the condition, <see cref="CallSeconds"/> the same moment in seconds from the stream's start.
/// </summary>
public sealed record Alert(
    string Id,
    string Tenant,
    string CallId,
    string Speaker,
    string Rule,
    [property: JsonConverter(typeof(JsonStringEnumConverter<AlertSeverity>))] AlertSeverity Severity,
    DateTimeOffset Time,
    double CallSeconds,
    string Description,
    bool Acknowledged = false,
    string? AcknowledgedBy = null,
    DateTimeOffset? AcknowledgedAt = null)
{
    /// <summary>
    /// The id is derived from what identifies the episode (tenant, call, speaker, rule and the window that opened it), so an
    /// aggregator that replays the same windows after a restart produces the same id: the store keeps one, and webhook
    /// receivers see the same idempotency key.
    /// </summary>
    public static string EpisodeId(string tenant, string callId, string speaker, string rule, long windowIndex)
    {
        var key = Encoding.UTF8.GetBytes($"{tenant}\n{callId}\n{speaker}\n{rule}\n{windowIndex}");
        return Convert.ToHexStringLower(SHA256.HashData(key).AsSpan(0, 16));
    }
}
