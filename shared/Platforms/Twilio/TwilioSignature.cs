using System.Security.Cryptography;
using System.Text;

namespace Streaming.Platforms.Twilio;

/// <summary>
/// Twilio's request signature, <c>X-Twilio-Signature</c>: base64(HMAC-SHA1(auth token, URL + sorted POST parameters)).
/// A Media Streams WebSocket upgrade is a GET with no body, so the signed string is the full URL Twilio connected to
/// (the <c>url</c> of <c>&lt;Stream&gt;</c>, query string included). Behind a proxy the service cannot see that URL, so
/// it is configured per tenant (TwilioPublicUrl) and the request's query string is appended to it.
/// </summary>
public static class TwilioSignature
{
    public static string Compute(string authToken, string url)
    {
        var mac = HMACSHA1.HashData(Encoding.UTF8.GetBytes(authToken), Encoding.UTF8.GetBytes(url));
        return Convert.ToBase64String(mac);
    }

    /// <summary>Constant-time comparison of the header value against the expected signature.</summary>
    public static bool IsValid(string authToken, string url, string signature)
    {
        var expected = Encoding.ASCII.GetBytes(Compute(authToken, url));
        var actual = Encoding.UTF8.GetBytes(signature.Trim());
        return CryptographicOperations.FixedTimeEquals(expected, actual);
    }

    /// <summary>The URL Twilio signed: the configured public URL plus the query string the request arrived with.</summary>
    public static string SignedUrl(string publicUrl, string? queryString) =>
        string.IsNullOrEmpty(queryString) || publicUrl.Contains('?') ? publicUrl : publicUrl + queryString;
}
