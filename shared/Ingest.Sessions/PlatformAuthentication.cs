using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streaming.Platforms.AudioHook;
using Streaming.Platforms.Twilio;
using Streaming.Tenancy;

namespace Streaming.Ingest.Sessions;

/// <summary>
/// The credential kinds of the platform endpoints, each an authentication scheme whose principal carries the tenant:
/// AudioHook's signed upgrade request (X-API-KEY + RFC 9421 signature with the client secret) and Twilio's
/// X-Twilio-Signature (the tenant named by the URL). A failure is an HTTP status before any WebSocket exists.
/// </summary>
public static class PlatformAuthentication
{
    public const string AudioHookScheme = "AudioHook";
    public const string TwilioScheme = "Twilio";

    /// <summary>How old a signature's <c>created</c> may be, and the clock difference tolerated (the reference implementation's values).</summary>
    public static readonly TimeSpan MaxSignatureAge = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(3);

    public static IServiceCollection AddPlatformAuthentication(this IServiceCollection services)
    {
        services.AddTenantAuthentication();
        services.AddSingleton(sp => new AudioHookSignatureVerifier(sp.GetService<TimeProvider>() ?? TimeProvider.System, MaxSignatureAge, ClockSkew));
        services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, AudioHookAuthenticationHandler>(AudioHookScheme, null)
            .AddScheme<AuthenticationSchemeOptions, TwilioAuthenticationHandler>(TwilioScheme, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(AudioHookScheme, p => p.AddAuthenticationSchemes(AudioHookScheme).RequireClaim(TenantAuthentication.TenantClaim))
            .AddPolicy(TwilioScheme, p => p.AddAuthenticationSchemes(TwilioScheme).RequireClaim(TenantAuthentication.TenantClaim));
        return services;
    }
}

/// <summary>
/// AudioHook: the X-API-KEY names the tenant; the request must carry a valid signature with that tenant's client secret
/// (unsigned only when the tenant has none). Every failure is 401; the reason goes to the log, not to the client.
/// </summary>
internal sealed partial class AudioHookAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    TenantRegistry tenants, AudioHookSignatureVerifier verifier) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private static readonly string[] RequiredHeaders = ["Audiohook-Organization-Id", "Audiohook-Session-Id", "Audiohook-Correlation-Id", TenantAuthentication.ApiKeyHeader];

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var missing = RequiredHeaders.FirstOrDefault(h => string.IsNullOrEmpty(Header(h)));
        if (missing is not null) return Fail($"header {missing} is missing");
        var tenant = tenants.FindByApiKey(Header(TenantAuthentication.ApiKeyHeader));
        // @request-target is the target exactly as sent (not the decoded path); @authority the Host header, lower-case.
        var target = Context.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } raw ? raw : Request.PathBase + Request.Path + Request.QueryString;
        var result = verifier.Verify(new SignedRequest(target, Request.Host.Value?.ToLowerInvariant() ?? "", Header), tenant?.ClientSecret);
        if (tenant is null) return Fail("unknown API key");
        if (!result.IsVerified && !(result.Status == SignatureStatus.Unsigned && tenant.ClientSecret is null)) return Fail(result.Reason);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(TenantAuthentication.Principal(tenant, Scheme.Name), Scheme.Name)));
    }

    private string? Header(string name) => Request.Headers.TryGetValue(name, out var values) ? string.Join(", ", values.Select(v => v?.Trim())) : null;

    private Task<AuthenticateResult> Fail(string reason)
    {
        LogRefused(Logger, reason);
        return Task.FromResult(AuthenticateResult.Fail(reason));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "AudioHook connection refused (401): {Reason}")]
    private static partial void LogRefused(ILogger logger, string reason);
}

/// <summary>
/// Twilio: the tenant is the <c>{tenant}</c> of the URL; X-Twilio-Signature must be base64(HMAC-SHA1(its auth token, its
/// TwilioPublicUrl + the query string)). No signature: 400; a wrong one, an unknown tenant or one without Twilio settings: 403.
/// </summary>
internal sealed partial class TwilioAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    TenantRegistry tenants) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SignatureHeader = "X-Twilio-Signature";
    private bool _signatureMissing;

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (Request.Headers[SignatureHeader] is not [{ Length: > 0 } signature])
        {
            _signatureMissing = true;
            return Fail("X-Twilio-Signature is missing");
        }
        var tenant = tenants.Find(Request.RouteValues["tenant"] as string);
        if (tenant?.TwilioAuthToken is not { } token || tenant.TwilioPublicUrl is not { } url) return Fail("unknown tenant or no Twilio settings");
        var signed = TwilioSignature.SignedUrl(url.OriginalString, Request.QueryString.Value);
        if (!TwilioSignature.IsValid(token, signed, signature)) return Fail("X-Twilio-Signature does not match");
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(TenantAuthentication.Principal(tenant, Scheme.Name), Scheme.Name)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = _signatureMissing ? StatusCodes.Status400BadRequest : StatusCodes.Status403Forbidden;
        return Task.CompletedTask;
    }

    private Task<AuthenticateResult> Fail(string reason)
    {
        LogRefused(Logger, reason);
        return Task.FromResult(AuthenticateResult.Fail(reason));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Twilio connection refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string reason);
}
