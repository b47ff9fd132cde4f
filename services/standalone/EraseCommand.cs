using System.CommandLine;
using System.Text.Json;
using StackExchange.Redis;
using Streaming.Alerts;
using Streaming.Archive;
using Streaming.Timelines.Api;
using Streaming.Timelines.Redis;

namespace Streaming.Standalone;

/// <summary>
/// `erase`: GDPR erasure of calls of one tenant, the same as <c>DELETE /api/calls/{callId}</c> (docs/operations.md, "Erasing a
/// call's data"): timelines, call index and alerts in the distributed store (Redis), rows in the Parquet archive. Prints one JSON
/// report per call. The Redis password comes only from <c>Redis__Password</c> (a command-line password shows in the process list).
/// Audio still inside Kafka's retention is not erased: it expires.
/// </summary>
public static class EraseCommand
{
    public static Command Create()
    {
        var tenant = new Option<string>("--tenant") { Description = "Whose calls", Required = true };
        var calls = new Option<string[]>("--call") { Description = "Call id to erase (repeat for several)", Required = true, AllowMultipleArgumentsPerToken = true };
        var redis = new Option<string>("--redis")
        {
            Description = "Redis of the distributed timelines (StackExchange.Redis configuration, e.g. 127.0.0.1:6379); default: Redis__Configuration",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("Redis__Configuration") ?? "",
        };
        var tls = new Option<bool>("--redis-tls") { Description = "Connect to Redis over TLS (a private CA from Redis__CaCertificatePath)" };
        var prefix = new Option<string>("--key-prefix") { Description = "Key prefix of the timelines (the aggregator's Redis:KeyPrefix)", DefaultValueFactory = _ => "emo:" };
        var archive = new Option<DirectoryInfo?>("--archive")
        {
            Description = "Archive directory (the aggregator's Archive:Directory); default: Archive__Directory; none: no archive to search",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("Archive__Directory") is { Length: > 0 } d ? new DirectoryInfo(d) : null,
        };
        var command = new Command("erase", "Erase calls of a tenant (GDPR): timelines, call index, alerts, archive rows")
        {
            tenant, calls, redis, tls, prefix, archive,
        };
        command.SetAction((parse, cancellationToken) => RunAsync(parse.GetValue(tenant)!, parse.GetValue(calls)!, parse.GetValue(redis)!, parse.GetValue(tls),
            parse.GetValue(prefix)!, parse.GetValue(archive), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(string tenant, string[] calls, string redis, bool tls, string prefix, DirectoryInfo? archive,
        CancellationToken cancellationToken)
    {
        if (redis.Length == 0)
        {
            await Console.Error.WriteLineAsync("error: no Redis: give --redis or set Redis__Configuration");
            return AnalyzeCommand.Fatal;
        }
        var options = new RedisOptions
        {
            Configuration = redis,
            KeyPrefix = prefix,
            Password = Environment.GetEnvironmentVariable("Redis__Password"),
            User = Environment.GetEnvironmentVariable("Redis__User"),
            Tls = tls,
            CaCertificatePath = Environment.GetEnvironmentVariable("Redis__CaCertificatePath"),
        };
        ConnectionMultiplexer connection;
        try
        {
            connection = await ConnectionMultiplexer.ConnectAsync(options.ToConfigurationOptions());
        }
        catch (Exception e) when (e is RedisException or ArgumentException or IOException)
        {
            await Console.Error.WriteLineAsync($"error: Redis at '{redis}': {e.Message}");
            return AnalyzeCommand.Fatal;
        }
        await using (connection)
        {
            var erasure = new CallErasure(new RedisTimelineStore(connection, options), new RedisAlertStore(connection, prefix, options.Retention),
                archive is null ? null : new ParquetArchive(archive.FullName, TimelineOptions.DefaultLabels));
            foreach (var callId in calls)
            {
                var report = await erasure.EraseAsync(tenant, callId, cancellationToken);
                Console.WriteLine(JsonSerializer.Serialize(report, JsonSerializerOptions.Web));
            }
            if (archive is null) await Console.Error.WriteLineAsync("erase: no --archive (nor Archive__Directory): the Parquet archive was not searched");
            await Console.Error.WriteLineAsync($"erase: not erased: {CallErasureReport.KafkaNote}");
            return AnalyzeCommand.Ok;
        }
    }
}
