using System.Security.Cryptography;
using System.Text;
using Streaming.Platforms.AudioHook;

namespace Streaming.Tests.Platforms;

public sealed class AudioHookSignatureTests
{
    // The example request of the AudioHook protocol documentation (also the reference implementation's test vector).
    private const string ApiKey = "SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh";
    private const string Secret = "TXlTdXBlclNlY3JldEtleVRlbGxOby0xITJAMyM0JDU=";
    private const long Created = 1641013200;

    private static Dictionary<string, string> ExampleHeaders() => new()
    {
        ["audiohook-organization-id"] = "d7934305-0972-4844-938e-9060eef73d05",
        ["audiohook-session-id"] = "30b0e395-84d3-4570-ac13-9a62d8f514c0",
        ["audiohook-correlation-id"] = "e160e428-53e2-487c-977d-96989bf5c99d",
        ["x-api-key"] = ApiKey,
        ["signature"] = "sig1=:NZBwyBHRRyRoeLqy1IzOa9VYBuI8TgMFt2GRDkDuJh4=:",
        ["signature-input"] = "sig1=(\"@request-target\" \"@authority\" \"audiohook-organization-id\" \"audiohook-session-id\" \"audiohook-correlation-id\" \"x-api-key\");"
            + "keyid=\"SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh\";nonce=\"VGhpc0lzQVVuaXF1ZU5vbmNl\";alg=\"hmac-sha256\";created=1641013200;expires=3282026430",
    };

    private static SignedRequest Request(Dictionary<string, string> headers, string target = "/api/v1/voicebiometrics/ws", string authority = "audiohook.example.com") =>
        new(target, authority, name => headers.TryGetValue(name, out var value) ? value : null);

    private static AudioHookSignatureVerifier Verifier(long now) =>
        new(new FixedTime(DateTimeOffset.FromUnixTimeSeconds(now)), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(3));

    private static byte[] SecretBytes => Convert.FromBase64String(Secret);

    [Fact]
    public void Verify_PublishedExample_IsVerified()
    {
        var result = Verifier(Created + 1).Verify(Request(ExampleHeaders()), SecretBytes);
        Assert.Equal(SignatureStatus.Verified, result.Status);
    }

    [Theory]
    [InlineData("audiohook-organization-id", "d7934305-0972-4844-938e-9060eef73d06")]
    [InlineData("audiohook-session-id", "30b0e395-84d3-4570-ac13-9a62d8f514c1")]
    [InlineData("audiohook-correlation-id", "e160e428-53e2-487c-977d-96989bf5c99e")]
    public void Verify_SignedHeaderChanged_Fails(string header, string value)
    {
        var headers = ExampleHeaders();
        headers[header] = value;
        Assert.Equal(SignatureStatus.Failed, Verifier(Created + 1).Verify(Request(headers), SecretBytes).Status);
    }

    [Fact]
    public void Verify_ApiKeyChanged_Fails()
    {
        var headers = ExampleHeaders();
        headers["x-api-key"] = "SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkj";
        Assert.False(Verifier(Created + 1).Verify(Request(headers), SecretBytes).IsVerified);
    }

    [Fact]
    public void Verify_RequestTargetChanged_Fails() =>
        Assert.Equal(SignatureStatus.Failed, Verifier(Created + 1).Verify(Request(ExampleHeaders(), target: "/api/v1/other"), SecretBytes).Status);

    [Fact]
    public void Verify_AuthorityChanged_Fails() =>
        Assert.Equal(SignatureStatus.Failed, Verifier(Created + 1).Verify(Request(ExampleHeaders(), authority: "evil.example.com"), SecretBytes).Status);

    [Fact]
    public void Verify_SignatureParameterChanged_Fails()
    {
        var headers = ExampleHeaders();
        headers["signature-input"] = headers["signature-input"].Replace("VGhpc0lzQVVuaXF1ZU5vbmNl", "VGhpc0lzQVVuaXF1ZU5vbmNm");
        Assert.Equal(SignatureStatus.Failed, Verifier(Created + 1).Verify(Request(headers), SecretBytes).Status);
    }

    [Fact]
    public void Verify_WrongSecret_Fails()
    {
        var wrong = Encoding.ASCII.GetBytes("MySuperSecretKeyTellNo-1!2@3#4$6");
        Assert.Equal(SignatureStatus.Failed, Verifier(Created + 1).Verify(Request(ExampleHeaders()), wrong).Status);
    }

    [Fact]
    public void Verify_UnknownKey_Fails() =>
        Assert.Equal(SignatureStatus.Failed, Verifier(Created + 1).Verify(Request(ExampleHeaders()), secret: null).Status);

    [Fact]
    public void Verify_CreatedTooLongAgo_IsExpired() =>
        Assert.Equal(SignatureStatus.Expired, Verifier(Created + 14).Verify(Request(ExampleHeaders()), SecretBytes).Status);

    [Fact]
    public void Verify_CreatedWithinAgeAndSkew_IsVerified() =>
        Assert.Equal(SignatureStatus.Verified, Verifier(Created + 13).Verify(Request(ExampleHeaders()), SecretBytes).Status);

    [Fact]
    public void Verify_CreatedInTheFuture_Fails() =>
        Assert.Equal(SignatureStatus.Invalid, Verifier(Created - 4).Verify(Request(ExampleHeaders()), SecretBytes).Status);

    [Fact]
    public void Verify_PastExpires_IsExpired()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var headers = Signed(now, expires: now - 5);
        Assert.Equal(SignatureStatus.Expired, Verifier(now).Verify(Request(headers), SecretBytes).Status);
    }

    [Fact]
    public void Verify_FreshSignatureFromThisTestsSigner_IsVerified()
    {
        // Guards the negative tests below: they fail for their one changed rule, not because the test signer is wrong.
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.Equal(SignatureStatus.Verified, Verifier(now).Verify(Request(Signed(now)), SecretBytes).Status);
    }

    [Fact]
    public void Verify_ShortNonce_Fails()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var result = Verifier(now).Verify(Request(Signed(now, nonce: "c2hvcnRub25jZQ")), SecretBytes);
        Assert.Equal(SignatureStatus.Invalid, result.Status);
        Assert.Contains("nonce", result.Reason);
    }

    [Fact]
    public void Verify_ComponentNotCovered_Fails()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var result = Verifier(now).Verify(Request(Signed(now, components: ["@request-target", "@authority", "x-api-key"])), SecretBytes);
        Assert.Equal(SignatureStatus.Invalid, result.Status);
        Assert.Contains("audiohook-organization-id", result.Reason);
    }

    [Fact]
    public void Verify_OtherAlgorithm_Fails()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.Equal(SignatureStatus.Invalid, Verifier(now).Verify(Request(Signed(now, alg: "rsa-pss-sha512")), SecretBytes).Status);
    }

    [Fact]
    public void Verify_NoSignatureHeaders_IsUnsigned()
    {
        var headers = ExampleHeaders();
        headers.Remove("signature");
        headers.Remove("signature-input");
        Assert.Equal(SignatureStatus.Unsigned, Verifier(Created).Verify(Request(headers), SecretBytes).Status);
    }

    [Theory]
    [InlineData("sig1=(\"@request-target\"")]
    [InlineData("sig1=(\"@request-target\");created=1.5")]
    [InlineData("sig2=(\"@request-target\");created=1")]
    [InlineData("")]
    public void Verify_MalformedSignatureInput_IsInvalid(string input)
    {
        var headers = ExampleHeaders();
        headers["signature-input"] = input;
        Assert.Equal(SignatureStatus.Invalid, Verifier(Created).Verify(Request(headers), SecretBytes).Status);
    }

    /// <summary>Signs the example request as a client would, written out by hand here (not with the verifier's serializer).</summary>
    private static Dictionary<string, string> Signed(long created, long? expires = null, string nonce = "dGhpcyBpcyBhIHVuaXF1ZSBub25jZQ", string alg = "hmac-sha256",
        string[]? components = null)
    {
        var headers = ExampleHeaders();
        components ??= ["@request-target", "@authority", "audiohook-organization-id", "audiohook-session-id", "audiohook-correlation-id", "x-api-key"];
        var values = new Dictionary<string, string>(headers) { ["@request-target"] = "/api/v1/voicebiometrics/ws", ["@authority"] = "audiohook.example.com" };
        var list = "(" + string.Join(" ", components.Select(c => $"\"{c}\"")) + ")"
            + $";keyid=\"{ApiKey}\";nonce=\"{nonce}\";alg=\"{alg}\";created={created}" + (expires is null ? "" : $";expires={expires}");
        var signatureBase = string.Concat(components.Select(c => $"\"{c}\": {values[c]}\n")) + $"\"@signature-params\": {list}";
        var mac = HMACSHA256.HashData(SecretBytes, Encoding.UTF8.GetBytes(signatureBase));
        headers["signature-input"] = "sig1=" + list;
        headers["signature"] = $"sig1=:{Convert.ToBase64String(mac)}:";
        return headers;
    }
}

internal sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
