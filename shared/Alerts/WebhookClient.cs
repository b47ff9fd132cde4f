using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Streaming.Alerts;

/// <summary>
/// The JSON body POSTed for an alert (documented in docs/alerts.md). Deterministic for an alert, so every retry carries the
/// same bytes, the same signature and the same idempotency key.
/// </summary>
public sealed record WebhookBody(string Type, string Id, string Tenant, string CallId, string Speaker, string Rule, string Severity,
    DateTimeOffset Time, double CallSeconds, string Description)
{
    public const string AlertFired = "alert.fired";

    public static WebhookBody From(Alert alert) => new(AlertFired, alert.Id, alert.Tenant, alert.CallId, alert.Speaker, alert.Rule,
        alert.Severity.ToString(), alert.Time, alert.CallSeconds, alert.Description);
}

/// <summary>
/// Sends one alert to one webhook: a typed client from IHttpClientFactory whose handler retries with backoff (see
/// <see cref="AlertingServiceCollectionExtensions.AddAlerting"/>).
/// </summary>
public sealed class WebhookClient(HttpClient http)
{
    /// <summary>"sha256=" + lowercase hex HMAC-SHA256 of the raw body, keyed with the tenant's webhook secret.</summary>
    public const string SignatureHeader = "X-Emotion-Signature";

    /// <summary>The alert id: the same on every retry of the same alert, so a receiver can drop repeats.</summary>
    public const string IdempotencyHeader = "Idempotency-Key";

    public static string Sign(ReadOnlySpan<byte> body, string secret) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    public async Task SendAsync(Alert alert, Uri url, string secret, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(WebhookBody.From(alert), AlertJson.Default.WebhookBody);
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add(SignatureHeader, Sign(body, secret));
        request.Headers.Add(IdempotencyHeader, alert.Id);
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
    }
}
