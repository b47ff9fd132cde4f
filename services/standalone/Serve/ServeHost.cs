using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Streaming.Alerts;
using Streaming.Dashboard;
using Streaming.Inference;
using Streaming.Ingest.Sessions;
using Streaming.ServiceDefaults;
using Streaming.Timelines;
using Streaming.Timelines.Api;

namespace Streaming.Standalone.Serve;

/// <summary>
/// The whole product in one process: the ingest endpoints (every protocol <see cref="IngestHosting.MapIngestEndpoints"/>
/// maps), the embedded pipeline, the in-memory timeline store, the timeline API, the dashboard with its live push, and alerts
/// with webhooks. Configured like the services (<c>Tenants:</c>, <c>Ingest:</c>, <c>Webhooks:</c>, <c>Archive:Directory</c>);
/// the command line and the tests both build it here.
/// </summary>
public static class ServeHost
{
    /// <summary>Loopback only unless <c>--urls</c> says otherwise: exposing calls to a network is a decision, not a default.</summary>
    public const string DefaultUrls = "http://127.0.0.1:5100";

    /// <summary>Ended calls the in-memory store keeps (configuration <c>Serve:MaxEndedCalls</c>); active calls are always kept.</summary>
    public const string MaxEndedCallsKey = "Serve:MaxEndedCalls";

    /// <summary>
    /// Framework chatter off by default (any source can turn it back on). The host's own "failed to start" log repeats, with a
    /// stack trace, the error the command prints in one line.
    /// </summary>
    private static readonly Dictionary<string, string?> QuietDefaults = new()
    {
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        ["Logging:LogLevel:Microsoft.Extensions.Hosting.Internal.Host"] = "Critical",
    };

    /// <summary>
    /// The host's builder: appsettings.json beside the program, then <paramref name="configFile"/>, the environment, and
    /// <paramref name="overrides"/> (tests), later sources winning. The model's labels and name are set last: they are facts
    /// of the loaded model, not settings.
    /// </summary>
    /// <exception cref="ServeConfigurationException">the configuration file is missing or not JSON, or no tenant is configured</exception>
    public static WebApplicationBuilder CreateBuilder(EmotionModel model, string urls, string? configFile,
        IEnumerable<KeyValuePair<string, string?>>? overrides = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, Args = [] });
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = QuietDefaults });
        if (configFile is not null)
        {
            if (!File.Exists(configFile)) throw new ServeConfigurationException($"--config {configFile}: no such file");
            try
            {
                builder.Configuration.AddJsonFile(Path.GetFullPath(configFile), optional: false, reloadOnChange: false);
            }
            catch (InvalidDataException e)
            {
                throw new ServeConfigurationException($"--config {configFile}: {e.InnerException?.Message ?? e.Message}");
            }
        }
        builder.Configuration.AddEnvironmentVariables();
        if (overrides is not null) builder.Configuration.AddInMemoryCollection(overrides);
        builder.Configuration.AddInMemoryCollection(ModelSettings(model));
        RequireTenants(builder.Configuration);
        builder.WebHost.UseUrls(urls);
        builder.AddServe(model);
        return builder;
    }

    /// <summary>Everything <c>serve</c> runs, registered on <paramref name="builder"/>.</summary>
    public static WebApplicationBuilder AddServe(this WebApplicationBuilder builder, EmotionModel model)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        builder.AddServiceDefaults();
        services.AddSingleton<IEmotionModel>(model);
        var maxEnded = builder.Configuration.GetValue(MaxEndedCallsKey, 1000);
        services.AddSingleton<ITimelineStore>(_ => new InMemoryTimelineStore(maxEndedCalls: maxEnded));
        services.AddTimelineApi();
        // Wraps the store: the pipeline's writes then feed alerts, live views and the archive (docs/dashboard.md, docs/alerts.md).
        services.AddSupervision(builder.Configuration, _ => model.Contract.Labels, _ => new InMemoryAlertStore());
        services.AddSingleton<PipelineLag>();
        services.AddSingleton<IPipelineLagSource, InProcessPipelineLag>();
        services.AddSingleton<ServePipeline>();
        services.AddHostedService(sp => sp.GetRequiredService<ServePipeline>());
        services.AddSingleton<IAudioSinkFactory, EmbeddedAudioSinkFactory>();
        services.AddIngestSessions();
        return builder;
    }

    /// <summary>Health, metrics, the ingest endpoints, the timeline API and the dashboard.</summary>
    public static WebApplication MapServe(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapDefaultEndpoints();
        app.MapIngestEndpoints();
        app.MapTimelineApi();
        app.MapDashboard();
        return app;
    }

    /// <summary>Every call and API request is authenticated by a tenant's key: with none configured, nothing could be used.</summary>
    private static void RequireTenants(IConfiguration configuration)
    {
        if (configuration.GetSection("Tenants").GetChildren().Any()) return;
        throw new ServeConfigurationException(
            "no tenants configured: serve accepts calls and API requests only with a tenant's API key. Configure at least one, " +
            "e.g. --config serve.json with {\"Tenants\": {\"demo\": {\"ApiKey\": \"<16+ characters>\"}}} or the environment " +
            "variable Tenants__demo__ApiKey (settings: docs/platforms.md)");
    }

    private static Dictionary<string, string?> ModelSettings(EmotionModel model)
    {
        var settings = new Dictionary<string, string?>
        {
            [$"{TimelineOptions.Section}:{nameof(TimelineOptions.ModelName)}"] = model.Contract.Name,
            [$"{TimelineOptions.Section}:{nameof(TimelineOptions.ModelVersion)}"] = model.Contract.Version,
        };
        for (var i = 0; i < model.Contract.Labels.Count; i++) settings[$"{TimelineOptions.Section}:{nameof(TimelineOptions.Labels)}:{i}"] = model.Contract.Labels[i];
        return settings;
    }
}

/// <summary>A configuration problem found before the host starts; the message names it and what to do.</summary>
public sealed class ServeConfigurationException(string message) : Exception(message);
