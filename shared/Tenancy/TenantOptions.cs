using Streaming.Contracts;

namespace Streaming.Tenancy;

/// <summary>
/// One tenant's settings: section <c>Tenants:&lt;id&gt;</c> (appsettings, or environment variables such as
/// <c>Tenants__acme__ApiKey</c>). The tenant of a call is the one whose credentials authenticated it, never a message field.
/// </summary>
public sealed class TenantOptions
{
    /// <summary>The API key (<c>X-API-KEY</c> or <c>Authorization: Bearer</c>): at least 16 characters, unique among tenants.</summary>
    public string ApiKey { get; set; } = "";

    /// <summary>Genesys AudioHook client secret, base64; requests are then signed with it (unset: unsigned requests accepted).</summary>
    public string? ClientSecret { get; set; }

    /// <summary>Twilio account auth token: the key of <c>X-Twilio-Signature</c>. Needs <see cref="TwilioPublicUrl"/>.</summary>
    public string? TwilioAuthToken { get; set; }

    /// <summary>The exact wss:// URL Twilio is configured with; Twilio signs it, so it must match character for character.</summary>
    public string? TwilioPublicUrl { get; set; }

    /// <summary>Drop every non-customer channel at ingest, before any decoding (EU AI Act Art. 5(1)(f)). On unless switched off.</summary>
    public bool CustomerOnly { get; set; } = true;

    /// <summary>Which Twilio track is which party: <c>inbound</c> (the caller) is the customer unless configured otherwise.</summary>
    public Dictionary<string, SpeakerRole> TwilioTrackRoles { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["inbound"] = SpeakerRole.Customer,
        ["outbound"] = SpeakerRole.Agent,
    };

    /// <summary>Live calls of this tenant at once on one ingest instance; one more is refused.</summary>
    public int MaxConcurrentSessions { get; set; } = 100;

    /// <summary>
    /// Audio faster than this many times real time for longer than the ingest's burst allowance is refused. 2 leaves room
    /// for network jitter and catch-up after a stall; file replays and load tests raise it.
    /// </summary>
    public double MaxRealTimeFactor { get; set; } = 2.0;
}

/// <summary>All tenants, keyed by tenant id (configuration section "Tenants").</summary>
public sealed class TenantsOptions
{
    public const string Section = "Tenants";

    public Dictionary<string, TenantOptions> Tenants { get; } = new(StringComparer.Ordinal);
}
