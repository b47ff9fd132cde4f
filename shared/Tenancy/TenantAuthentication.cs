using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Streaming.Tenancy;

/// <summary>
/// Tenants for a service: validated configuration, the <see cref="TenantRegistry"/>, and the API-key authentication
/// scheme (<c>X-API-KEY: KEY</c> or <c>Authorization: Bearer KEY</c>) whose principal carries the tenant claim.
/// Endpoints that need a tenant call <c>RequireAuthorization()</c> and read it with <see cref="GetTenant"/>.
/// </summary>
public static class TenantAuthentication
{
    public const string Scheme = "ApiKey";
    public const string ApiKeyHeader = "X-API-KEY";
    public const string TenantClaim = "tenant";

    /// <summary>Binds and validates <c>Tenants:*</c> at start (a bad or duplicate key stops the process naming the setting).</summary>
    public static IServiceCollection AddTenants(this IServiceCollection services)
    {
        services.AddOptions<TenantsOptions>()
            .Configure<IConfiguration>((options, config) => config.GetSection(TenantsOptions.Section).Bind(options.Tenants))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<TenantsOptions>, TenantsValidation>();
        services.AddSingleton<TenantRegistry>();
        return services;
    }

    /// <summary>
    /// <see cref="AddTenants"/> plus the API-key scheme as the default, and a default policy that needs a tenant.
    /// Idempotent: a host with several parts that need tenants (<c>serve</c>: ingest and the timeline API) registers it once.
    /// </summary>
    public static IServiceCollection AddTenantAuthentication(this IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(TenantRegistry))) return services;
        services.AddTenants();
        services.AddAuthorizationBuilder().SetDefaultPolicy(new AuthorizationPolicyBuilder(Scheme).RequireClaim(TenantClaim).Build());
        services.AddAuthentication(Scheme).AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(Scheme, null);
        return services;
    }

    /// <summary>The API key a request presents, from <c>X-API-KEY</c> or a Bearer <c>Authorization</c>; null when none.</summary>
    public static string? ApiKey(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Headers[ApiKeyHeader] is [{ Length: > 0 } key]) return key;
        var authorization = request.Headers[HeaderNames.Authorization].ToString();
        const string bearer = "Bearer ";
        return authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) && authorization.Length > bearer.Length
            ? authorization[bearer.Length..].Trim()
            : null;
    }

    /// <summary>The authenticated tenant of the request (null when the request is anonymous).</summary>
    public static Tenant? GetTenant(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.User.FindFirst(TenantClaim)?.Value is { } id ? context.RequestServices.GetRequiredService<TenantRegistry>().Find(id) : null;
    }

    /// <summary>A principal for <paramref name="tenant"/>, for other schemes (AudioHook signatures, Twilio) to issue.</summary>
    public static ClaimsPrincipal Principal(Tenant tenant, string scheme)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return new ClaimsPrincipal(new ClaimsIdentity([new Claim(TenantClaim, tenant.Id), new Claim(ClaimTypes.Name, tenant.Id)], scheme));
    }
}

/// <summary>
/// Authenticates a request by its API key. No key: no result (the endpoint's policy answers 401); an unknown key: a
/// failure (401 too). The key never reaches a log.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    TenantRegistry tenants) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var key = TenantAuthentication.ApiKey(Request);
        if (key is null) return Task.FromResult(AuthenticateResult.NoResult());
        var tenant = tenants.FindByApiKey(key);
        return Task.FromResult(tenant is null
            ? AuthenticateResult.Fail("unknown API key")
            : AuthenticateResult.Success(new AuthenticationTicket(TenantAuthentication.Principal(tenant, Scheme.Name), Scheme.Name)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers[HeaderNames.WWWAuthenticate] = "Bearer";
        return Task.CompletedTask;
    }
}
