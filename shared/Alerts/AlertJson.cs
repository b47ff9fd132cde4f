using System.Text.Json.Serialization;

namespace Streaming.Alerts;

/// <summary>The alert's JSON form: stored in Redis, published, sent to webhooks and served by the API (camelCase).</summary>
[JsonSerializable(typeof(Alert))]
[JsonSerializable(typeof(WebhookBody))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
public sealed partial class AlertJson : JsonSerializerContext;
