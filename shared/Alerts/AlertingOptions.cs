using System.ComponentModel.DataAnnotations;

namespace Streaming.Alerts;

/// <summary>
/// The alerting part of each tenant's configuration: <c>Tenants:&lt;id&gt;:Alerts</c> (bound from the configuration root, beside the
/// tenant's other settings). A tenant without rules gets no alerts; without webhook URLs its alerts are stored and shown only.
/// </summary>
public sealed class AlertingOptions : IValidatableObject
{
    public Dictionary<string, TenantSection> Tenants { get; set; } = new(StringComparer.Ordinal);

    public IReadOnlyList<AlertRule> RulesOf(string tenant) =>
        Tenants.TryGetValue(tenant, out var section) ? section.Alerts.Rules : [];

    public TenantAlerts? Of(string tenant) => Tenants.TryGetValue(tenant, out var section) ? section.Alerts : null;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (tenant, section) in Tenants)
        {
            var alerts = section.Alerts;
            foreach (var rule in alerts.Rules)
            {
                var results = new List<ValidationResult>();
                Validator.TryValidateObject(rule, new ValidationContext(rule), results, validateAllProperties: true);
                foreach (var result in results)
                    yield return new ValidationResult($"Tenants:{tenant}:Alerts:Rules ('{rule.Name}'): {result.ErrorMessage}", result.MemberNames);
            }
            foreach (var duplicate in alerts.Rules.GroupBy(r => r.Name).Where(g => g.Count() > 1))
                yield return new ValidationResult($"Tenants:{tenant}:Alerts:Rules: the name '{duplicate.Key}' is used {duplicate.Count()} times");
            foreach (var url in alerts.WebhookUrls)
                if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
                    yield return new ValidationResult($"Tenants:{tenant}:Alerts:WebhookUrls: '{url}' is not an absolute http(s) URL");
            if (alerts.WebhookUrls.Count > 0 && alerts.WebhookSecret.Length < TenantAlerts.MinSecretLength)
                yield return new ValidationResult(
                    $"Tenants:{tenant}:Alerts:WebhookSecret must have at least {TenantAlerts.MinSecretLength} characters when webhooks are configured");
        }
    }

    public sealed class TenantSection
    {
        public TenantAlerts Alerts { get; set; } = new();
    }
}

public sealed class TenantAlerts
{
    public const int MinSecretLength = 16;

    public List<AlertRule> Rules { get; set; } = [];

    /// <summary>Every alert of the tenant is POSTed to each of these.</summary>
    public List<string> WebhookUrls { get; set; } = [];

    /// <summary>The HMAC-SHA256 key (its UTF-8 bytes) that signs webhook bodies. A secret: never logged.</summary>
    public string WebhookSecret { get; set; } = "";
}

/// <summary>How webhooks are delivered (configuration section "Webhooks"; the same for every tenant).</summary>
public sealed class WebhookDeliveryOptions
{
    public const string Section = "Webhooks";

    /// <summary>Deliveries waiting at most; past it a new alert's delivery is dropped (logged and counted) rather than holding the pipeline.</summary>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 10000;

    /// <summary>Deliveries in flight at once: a receiver that hangs holds one of them, not the queue.</summary>
    [Range(1, 256)]
    public int Parallelism { get; set; } = 8;

    /// <summary>Attempts after the first; the delay doubles from <see cref="FirstRetryDelay"/> with jitter.</summary>
    [Range(0, 20)]
    public int MaxRetryAttempts { get; set; } = 6;

    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>One attempt's limit: a receiver that does not answer in time counts as a failed attempt.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
