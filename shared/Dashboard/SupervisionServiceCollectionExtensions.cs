using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Streaming.Alerts;
using Streaming.Archive;
using Streaming.Timelines;

namespace Streaming.Dashboard;

public static class SupervisionServiceCollectionExtensions
{
    /// <summary>Configuration key of the archive's directory; unset: finished calls are not archived.</summary>
    public const string ArchiveDirectoryKey = "Archive:Directory";

    /// <summary>
    /// Alerts, live updates, the Parquet archive and the dashboard's views, wrapped around the host's <see cref="ITimelineStore"/>
    /// (register it first): the pipeline then writes through <see cref="SupervisedTimelineStore"/>.
    /// </summary>
    /// <param name="labels">The model's labels in probability order (the host knows them: the loaded model, or its settings).</param>
    public static IServiceCollection AddSupervision(this IServiceCollection services, IConfiguration configuration,
        Func<IServiceProvider, IReadOnlyList<string>> labels, Func<IServiceProvider, IAlertStore> alertStore)
    {
        services.AddAlerting(configuration);
        services.AddSingleton(alertStore);
        services.AddSingleton(sp => new LiveUpdates(sp.GetService<TimeProvider>()));
        services.AddSingleton(sp => new DashboardOptions(labels(sp)));
        services.TryAddSingleton(sp => new TimelineBuilder(labels(sp)));
        services.AddSingleton<LiveViews>();
        services.AddSingleton<CallHistory>();
        services.AddOptions<ExportOptions>().BindConfiguration(ExportOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        var directory = configuration[ArchiveDirectoryKey];
        if (!string.IsNullOrEmpty(directory)) services.AddSingleton(sp => new ParquetArchive(directory, labels(sp)));

        var stored = services.LastOrDefault(d => d.ServiceType == typeof(ITimelineStore))
            ?? throw new InvalidOperationException("AddSupervision wraps the host's ITimelineStore: register the store first");
        services.Remove(stored);
        services.AddSingleton<ITimelineStore>(sp =>
        {
            var live = sp.GetRequiredService<LiveUpdates>();
            var monitor = sp.GetRequiredService<AlertMonitor>();
            monitor.Fired += alert => live.Publish(alert.Tenant, alert.CallId);
            return new SupervisedTimelineStore(Resolve(sp, stored), monitor, live, sp.GetService<ParquetArchive>(),
                sp.GetRequiredService<ILogger<SupervisedTimelineStore>>());
        });
        return services;
    }

    private static ITimelineStore Resolve(IServiceProvider sp, ServiceDescriptor descriptor) => (ITimelineStore)(
        descriptor.ImplementationInstance
        ?? descriptor.ImplementationFactory?.Invoke(sp)
        ?? ActivatorUtilities.CreateInstance(sp, descriptor.ImplementationType!));
}
