using Microsoft.Extensions.Options;
using Streaming.Contracts;

namespace Streaming.Tenancy;

/// <summary>Checks every tenant at start; each failure names the setting (<c>Tenants:acme:ApiKey</c>) and never echoes a secret.</summary>
internal sealed class TenantsValidation : IValidateOptions<TenantsOptions>
{
    public const int MinApiKeyLength = 16;
    public const int MaxTenantIdLength = 64;

    public ValidateOptionsResult Validate(string? name, TenantsOptions options)
    {
        var errors = new List<string>();
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (id, tenant) in options.Tenants)
        {
            var at = $"{TenantsOptions.Section}:{id}";
            if (!IsValidId(id))
                errors.Add($"{at}: the tenant id must be 1-{MaxTenantIdLength} characters of A-Z a-z 0-9 - _ .");
            if (tenant.ApiKey.Length < MinApiKeyLength || tenant.ApiKey.Any(char.IsWhiteSpace))
                errors.Add($"{at}:ApiKey must be at least {MinApiKeyLength} characters without spaces");
            else if (!keys.TryAdd(tenant.ApiKey, id))
                errors.Add($"{at}:ApiKey is the same as {TenantsOptions.Section}:{keys[tenant.ApiKey]}:ApiKey; every tenant needs its own");
            if (tenant.ClientSecret is not null && (tenant.ClientSecret.Length == 0 || !IsBase64(tenant.ClientSecret)))
                errors.Add($"{at}:ClientSecret is not base64");
            if (tenant.TwilioAuthToken is { Length: > 0 } && !IsTwilioUrl(tenant.TwilioPublicUrl))
                errors.Add($"{at}:TwilioPublicUrl must be the absolute wss:// (or https://) URL Twilio is configured with when TwilioAuthToken is set");
            if (tenant.TwilioPublicUrl is not null && !IsTwilioUrl(tenant.TwilioPublicUrl))
                errors.Add($"{at}:TwilioPublicUrl '{tenant.TwilioPublicUrl}' is not an absolute ws://, wss://, http:// or https:// URL");
            if (tenant.TwilioPublicUrl is not null && string.IsNullOrEmpty(tenant.TwilioAuthToken))
                errors.Add($"{at}:TwilioAuthToken is needed with TwilioPublicUrl");
            foreach (var track in tenant.TwilioTrackRoles.Keys.Where(t => t is not ("inbound" or "outbound")))
                errors.Add($"{at}:TwilioTrackRoles:{track}: Twilio's tracks are inbound and outbound");
            if (tenant.TwilioTrackRoles.Values.Count(r => r == SpeakerRole.Customer) != 1 || tenant.TwilioTrackRoles.Values.Any(r => r == SpeakerRole.Unknown))
                errors.Add($"{at}:TwilioTrackRoles must make exactly one of inbound/outbound the Customer and the other the Agent");
            if (tenant.MaxConcurrentSessions is < 1 or > 100_000)
                errors.Add($"{at}:MaxConcurrentSessions {tenant.MaxConcurrentSessions} is outside 1-100000");
            if (!(tenant.MaxRealTimeFactor is >= 1 and <= 10_000))
                errors.Add($"{at}:MaxRealTimeFactor {tenant.MaxRealTimeFactor} is outside 1-10000");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Tenant ids become key parts in Kafka and Redis: the call id alphabet, bounded length.</summary>
    public static bool IsValidId(string id) =>
        id.Length is > 0 and <= MaxTenantIdLength && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    private static bool IsBase64(string value) => Convert.TryFromBase64String(value, new byte[value.Length], out var n) && n > 0;

    private static bool IsTwilioUrl(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "wss" or "ws" or "https" or "http";
}
