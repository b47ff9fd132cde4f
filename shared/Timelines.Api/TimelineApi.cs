using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streaming.Alerts;
using Streaming.Archive;
using Streaming.Tenancy;
using Streaming.Timelines;

namespace Streaming.Timelines.Api;

/// <summary>What the API needs to turn windows into timelines: the model's labels, in probability order.</summary>
public sealed class TimelineOptions : IValidatableObject
{
    public const string Section = "Timeline";

    public static readonly string[] DefaultLabels = ["neutral", "happy", "sad", "angry"];

    /// <summary>Empty: <see cref="DefaultLabels"/>. (No array default here: configuration binding appends to one.)</summary>
    public string[] Labels { get; set; } = [];

    public IReadOnlyList<string> EffectiveLabels => Labels.Length == 0 ? DefaultLabels : Labels;

    [Required(AllowEmptyStrings = false)]
    public string ModelName { get; set; } = "emotion-cnn-bilstm";

    [Required(AllowEmptyStrings = false)]
    public string ModelVersion { get; set; } = "unknown";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Labels.Distinct().Count() != Labels.Length || Labels.Any(string.IsNullOrWhiteSpace))
            yield return new ValidationResult($"Timeline:Labels [{string.Join(", ", Labels)}] must be distinct, non-empty labels", [nameof(Labels)]);
    }
}

/// <summary>
/// The timeline REST API (schema in docs/distributed.md). Every route needs a tenant's API key (<c>X-API-KEY</c> or
/// <c>Authorization: Bearer</c>; none or an unknown one: 401) and answers only for that tenant: another tenant's call
/// is as unknown as one never seen (404). Reads go straight to the store: any aggregator instance answers.
/// </summary>
public static class TimelineApi
{
    /// <summary>
    /// Tenant authentication, <see cref="TimelineOptions"/>, the <see cref="TimelineBuilder"/> and <see cref="CallErasure"/>; the host adds
    /// its <see cref="ITimelineStore"/> and, where it has them, its <see cref="IAlertStore"/> and <see cref="ParquetArchive"/> (erased too).
    /// </summary>
    public static IServiceCollection AddTimelineApi(this IServiceCollection services)
    {
        services.AddTenantAuthentication();
        services.AddOptions<TimelineOptions>().BindConfiguration(TimelineOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => new TimelineBuilder(sp.GetRequiredService<IOptions<TimelineOptions>>().Value.EffectiveLabels));
        services.AddSingleton(sp => new CallErasure(sp.GetRequiredService<ITimelineStore>(), sp.GetService<IAlertStore>(), sp.GetService<ParquetArchive>(),
            sp.GetRequiredService<ILogger<CallErasure>>()));
        return services;
    }

    public static IEndpointRouteBuilder MapTimelineApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/calls").RequireAuthorization();

        // The list of calls, GET /api/calls with filters and paging, is the dashboard's (shared/Dashboard, docs/dashboard.md).
        api.MapGet("/{callId}", async (string callId, HttpContext context, ITimelineStore store, TimelineBuilder builder, IOptions<TimelineOptions> options, CancellationToken ct) =>
            await store.GetCallAsync(Tenant(context), callId, ct) is { } call
                ? Results.Ok(builder.BuildCall(call, options.Value.ModelName, options.Value.ModelVersion))
                : UnknownCall(callId));

        api.MapGet("/{callId}/summary", async (string callId, HttpContext context, ITimelineStore store, TimelineBuilder builder, IOptions<TimelineOptions> options, CancellationToken ct) =>
            await store.GetCallAsync(Tenant(context), callId, ct) is { } call
                ? Results.Ok(builder.BuildCall(call, options.Value.ModelName, options.Value.ModelVersion).Summary)
                : UnknownCall(callId));

        api.MapGet("/{callId}/speakers/{speaker}", async (string callId, string speaker, HttpContext context, ITimelineStore store, TimelineBuilder builder, CancellationToken ct) =>
        {
            var call = await store.GetCallAsync(Tenant(context), callId, ct);
            if (call is null) return UnknownCall(callId);
            var windows = call.Speakers.FirstOrDefault(s => s.Speaker == speaker);
            return windows is null
                ? Results.Problem($"call '{callId}' has no speaker '{speaker}'", statusCode: StatusCodes.Status404NotFound)
                : Results.Ok(builder.BuildSpeaker(windows.Speaker, windows.Role, windows.Windows, windows.IsComplete));
        });

        // GDPR erasure of one of the tenant's calls: timeline, call index, alerts, archive rows (docs/operations.md).
        api.MapDelete("/{callId}", async (string callId, HttpContext context, CallErasure erasure, CancellationToken ct) =>
            await erasure.EraseAsync(Tenant(context), callId, ct) is { Found: true } report ? Results.Ok(report) : UnknownCall(callId));
        return app;
    }

    /// <summary>The group requires authorization, so every request here has a tenant.</summary>
    private static string Tenant(HttpContext context) => context.GetTenant()!.Id;

    private static IResult UnknownCall(string callId) =>
        Results.Problem($"call '{callId}' is unknown (never seen, or older than the retention)", statusCode: StatusCodes.Status404NotFound);
}
