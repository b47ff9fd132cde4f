using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Streaming.Contracts;

namespace Streaming.Tenancy;

/// <summary>A configured tenant, resolved once at start (the client secret decoded, the URL parsed).</summary>
public sealed class Tenant
{
    internal Tenant(string id, TenantOptions options)
    {
        Id = id;
        CustomerOnly = options.CustomerOnly;
        ClientSecret = options.ClientSecret is null ? null : Convert.FromBase64String(options.ClientSecret);
        TwilioAuthToken = string.IsNullOrEmpty(options.TwilioAuthToken) ? null : options.TwilioAuthToken;
        TwilioPublicUrl = options.TwilioPublicUrl is null ? null : new Uri(options.TwilioPublicUrl);
        TwilioTrackRoles = new Dictionary<string, SpeakerRole>(options.TwilioTrackRoles, StringComparer.OrdinalIgnoreCase);
        MaxConcurrentSessions = options.MaxConcurrentSessions;
        MaxRealTimeFactor = options.MaxRealTimeFactor;
        ApiKeyHash = Hash(options.ApiKey);
    }

    public string Id { get; }

    /// <summary>Only the customer's audio is kept; decided by configuration alone, no client can switch it off.</summary>
    public bool CustomerOnly { get; }

    /// <summary>The AudioHook HMAC key (decoded); null: the tenant accepts unsigned AudioHook requests.</summary>
    public byte[]? ClientSecret { get; }

    public string? TwilioAuthToken { get; }

    public Uri? TwilioPublicUrl { get; }

    /// <summary>inbound/outbound → customer/agent.</summary>
    public IReadOnlyDictionary<string, SpeakerRole> TwilioTrackRoles { get; }

    public int MaxConcurrentSessions { get; }

    public double MaxRealTimeFactor { get; }

    internal byte[] ApiKeyHash { get; }

    internal static byte[] Hash(string apiKey) => SHA256.HashData(Encoding.UTF8.GetBytes(apiKey));

    public override string ToString() => Id;
}

/// <summary>
/// The configured tenants: lookup by API key (for every credential kind: the native protocol, AudioHook's
/// <c>X-API-KEY</c>/<c>keyid</c>, the timeline API) and by id (Twilio's URL names the tenant).
/// </summary>
public sealed class TenantRegistry
{
    private readonly Tenant[] _tenants;
    private readonly Dictionary<string, Tenant> _byId;

    public TenantRegistry(IOptions<TenantsOptions> options)
    {
        _tenants = [.. options.Value.Tenants.Select(t => new Tenant(t.Key, t.Value))];
        _byId = _tenants.ToDictionary(t => t.Id, StringComparer.Ordinal);
    }

    public IReadOnlyCollection<Tenant> All => _tenants;

    /// <summary>
    /// The tenant owning <paramref name="apiKey"/>, or null. Constant time: the key's SHA-256 is compared with every
    /// tenant's by <see cref="CryptographicOperations.FixedTimeEquals"/>, without stopping at a match, so neither the
    /// position of a match nor the length of a guessed prefix shows in the timing.
    /// </summary>
    public Tenant? FindByApiKey(string? apiKey)
    {
        if (string.IsNullOrEmpty(apiKey)) return null;
        var hash = Tenant.Hash(apiKey);
        Tenant? found = null;
        foreach (var tenant in _tenants)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, tenant.ApiKeyHash)) found = tenant;
        }
        return found;
    }

    public Tenant? Find(string? id) => id is not null && _byId.TryGetValue(id, out var tenant) ? tenant : null;
}
