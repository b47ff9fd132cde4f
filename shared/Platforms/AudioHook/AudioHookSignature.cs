using System.Security.Cryptography;
using System.Text;

namespace Streaming.Platforms.AudioHook;

/// <summary>The parts of the WebSocket upgrade request a signature covers; <see cref="Header"/> takes a lower-case name.</summary>
/// <param name="RequestTarget">path and query as the client sent them (<c>@request-target</c>)</param>
/// <param name="Authority">the Host header, lower-case (<c>@authority</c>)</param>
/// <param name="Header">a header's value (several values joined with ", "), or null when absent</param>
public sealed record SignedRequest(string RequestTarget, string Authority, Func<string, string?> Header);

public enum SignatureStatus { Verified, Unsigned, Invalid, Expired, Failed }

public readonly record struct SignatureResult(SignatureStatus Status, string Reason)
{
    public bool IsVerified => Status == SignatureStatus.Verified;
}

/// <summary>
/// Verifies the HTTP message signature Genesys AudioHook puts on its WebSocket upgrade request (RFC 9421 as the
/// AudioHook protocol profiles it): label <c>sig1</c>, HMAC-SHA256 keyed with the base64-decoded client secret, over
/// <c>@request-target</c>, <c>@authority</c>, the three <c>audiohook-*</c> id headers and <c>x-api-key</c>, with
/// <c>keyid</c> = the API key, a <c>nonce</c>, <c>created</c> and optionally <c>expires</c>. The signature base is
/// rebuilt from the parsed fields (canonical form), and the comparison is constant-time.
/// </summary>
public sealed class AudioHookSignatureVerifier(TimeProvider time, TimeSpan maxAge, TimeSpan clockSkew)
{
    public const string Label = "sig1";
    public const string Algorithm = "hmac-sha256";

    /// <summary>22 base64 characters carry 128 bits, the reference implementation's minimum.</summary>
    public const int MinNonceLength = 22;

    public static readonly IReadOnlyList<string> RequiredComponents =
        ["@request-target", "@authority", "audiohook-organization-id", "audiohook-session-id", "audiohook-correlation-id", "x-api-key"];

    /// <param name="secret">the client secret of the tenant the request's X-API-KEY names; null when no tenant has that key</param>
    public SignatureResult Verify(SignedRequest request, byte[]? secret)
    {
        var inputField = request.Header("signature-input");
        var signatureField = request.Header("signature");
        if (inputField is null && signatureField is null) return new(SignatureStatus.Unsigned, "no Signature and Signature-Input headers");
        if (inputField is null || signatureField is null) return Invalid("Signature and Signature-Input must come together");

        StructuredFields.Member? input, signature;
        try
        {
            input = StructuredFields.ParseDictionary(inputField).FirstOrDefault(m => m.Key == Label).Value;
            signature = StructuredFields.ParseDictionary(signatureField).FirstOrDefault(m => m.Key == Label).Value;
        }
        catch (FormatException e)
        {
            return Invalid($"signature header is malformed: {e.Message}");
        }
        if (input?.InnerList is null) return Invalid($"Signature-Input has no '{Label}' inner list");
        if (signature?.Value is not byte[] mac) return Invalid($"Signature has no '{Label}' byte sequence");

        string? keyId = null, nonce = null, alg = null;
        long? created = null, expires = null;
        foreach (var (key, value) in input.Parameters)
        {
            switch (key, value)
            {
                case ("keyid", string s): keyId = s; break;
                case ("nonce", string s): nonce = s; break;
                case ("alg", string s): alg = s; break;
                case ("created", long n) when n >= 0: created = n; break;
                case ("expires", long n) when n >= 0: expires = n; break;
                default: return Invalid($"signature parameter '{key}' is unknown or of the wrong type");
            }
        }
        var apiKey = request.Header("x-api-key");
        if (apiKey is null) return Invalid("X-API-KEY header is missing");
        if (keyId != apiKey) return Invalid("signature keyid does not match X-API-KEY");
        if (nonce is null || nonce.Length < MinNonceLength) return Invalid($"signature nonce is missing or shorter than {MinNonceLength} characters");
        if (alg is not null && alg != Algorithm) return Invalid($"signature algorithm '{alg}' is not {Algorithm}");
        if (created is null) return Invalid("signature has no 'created' time");

        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var skew = (long)clockSkew.TotalSeconds;
        if (created > now + skew) return Invalid("signature 'created' is in the future");
        if (now - created > (long)maxAge.TotalSeconds + skew) return new(SignatureStatus.Expired, "signature is too old");
        if (expires < now - skew) return new(SignatureStatus.Expired, "signature has expired");

        var lines = new StringBuilder();
        var covered = new HashSet<string>();
        foreach (var component in input.InnerList)
        {
            if (component.Value is not string name || component.Parameters.Count > 0) return Invalid("signature components must be plain strings");
            if (!covered.Add(name)) return Invalid($"signature component '{name}' appears twice");
            var value = name switch
            {
                "@request-target" => request.RequestTarget,
                "@authority" => request.Authority,
                _ when name.StartsWith('@') => null,
                _ => request.Header(name),
            };
            if (value is null) return Invalid($"signature component '{name}' is not available");
            lines.Append(StructuredFields.SerializeItem(component)).Append(": ").Append(value).Append('\n');
        }
        var missing = RequiredComponents.FirstOrDefault(c => !covered.Contains(c));
        if (missing is not null) return Invalid($"signature does not cover '{missing}'");
        lines.Append("\"@signature-params\": ").Append(StructuredFields.SerializeInnerList(input));

        // An unknown key is checked against a random one, so the failure takes the same path as a wrong signature.
        var expected = HMACSHA256.HashData(secret ?? RandomNumberGenerator.GetBytes(32), Encoding.UTF8.GetBytes(lines.ToString()));
        var match = CryptographicOperations.FixedTimeEquals(expected, mac);
        return match && secret is not null ? new(SignatureStatus.Verified, "verified") : new(SignatureStatus.Failed, "signature does not match");
    }

    private static SignatureResult Invalid(string reason) => new(SignatureStatus.Invalid, reason);
}
