using Streaming.Platforms.Twilio;

namespace Streaming.Tests.Platforms;

public sealed class TwilioSignatureTests
{
    // Computed independently with Node's crypto:
    //   node -e 'console.log(require("crypto").createHmac("sha1", TOKEN).update(Buffer.from(URL, "utf-8")).digest("base64"))'
    private const string Token = "0123456789abcdef0123456789abcdef";
    private const string Url = "wss://ingest.example.com/v1/twilio/acme";
    private const string UrlSignature = "sMPp3JxdrhoS4YU0QNYMfh+SS54=";
    private const string UrlWithQuerySignature = "ZH4AvuxP+wIWTmM12Z8oeb/VHvY=";

    [Fact]
    public void Compute_NodeVector_Matches() => Assert.Equal(UrlSignature, TwilioSignature.Compute(Token, Url));

    [Fact]
    public void IsValid_QueryStringAppendedToPublicUrl_Matches() =>
        Assert.True(TwilioSignature.IsValid(Token, TwilioSignature.SignedUrl(Url, "?agent=42"), UrlWithQuerySignature));

    [Fact]
    public void IsValid_WrongToken_Fails() => Assert.False(TwilioSignature.IsValid(Token + "0", Url, UrlSignature));

    [Fact]
    public void IsValid_OtherUrl_Fails() => Assert.False(TwilioSignature.IsValid(Token, Url + "x", UrlSignature));

    [Fact]
    public void IsValid_ChangedSignature_Fails() => Assert.False(TwilioSignature.IsValid(Token, Url, "sMPp3JxdrhoS4YU0QNYMfh+SS55="));
}
