using System.CommandLine;
using StackExchange.Redis;
using Streaming.Archive;
using Streaming.Timelines.Redis;

namespace Streaming.Standalone;

/// <summary>
/// `export`: a tenant's finished calls from the distributed store (Redis) into the Parquet archive, one file per call,
/// partitioned by tenant and date (docs/json-schema.md, "Parquet archive"). The aggregator archives each call when it ends;
/// this command backfills (calls that ended before archiving was configured, or a day to re-export) while Redis still holds them.
/// </summary>
public static class ExportCommand
{
    public static Command Create()
    {
        var redis = new Option<string>("--redis") { Description = "Redis of the distributed timelines (StackExchange.Redis configuration, e.g. 127.0.0.1:6379)", Required = true };
        var prefix = new Option<string>("--key-prefix") { Description = "Key prefix of the timelines (the aggregator's Redis:KeyPrefix)", DefaultValueFactory = _ => "emo:" };
        var tenant = new Option<string>("--tenant") { Description = "Whose calls", Required = true };
        var from = new Option<DateTimeOffset?>("--from") { Description = "Only calls last updated at or after this time (ISO 8601)" };
        var to = new Option<DateTimeOffset?>("--to") { Description = "Only calls last updated at or before this time (ISO 8601)" };
        var output = new Option<DirectoryInfo>("--out") { Description = "Archive directory (tenant=T/date=D/CALL.parquet below it)", Required = true };
        var labels = new Option<string[]>("--labels")
        {
            Description = "The model's labels in probability order",
            DefaultValueFactory = _ => ["neutral", "happy", "sad", "angry"],
            AllowMultipleArgumentsPerToken = true,
        };
        var command = new Command("export", "Write a tenant's finished calls from Redis as Parquet (one row per window)")
        {
            redis, prefix, tenant, from, to, output, labels,
        };
        command.SetAction((parse, cancellationToken) => RunAsync(parse.GetValue(redis)!, parse.GetValue(prefix)!, parse.GetValue(tenant)!,
            parse.GetValue(from), parse.GetValue(to), parse.GetValue(output)!, parse.GetValue(labels)!, cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(string redis, string prefix, string tenant, DateTimeOffset? from, DateTimeOffset? to, DirectoryInfo output,
        string[] labels, CancellationToken cancellationToken)
    {
        ConnectionMultiplexer connection;
        try
        {
            connection = await ConnectionMultiplexer.ConnectAsync(redis);
        }
        catch (Exception e) when (e is RedisException or ArgumentException)
        {
            await Console.Error.WriteLineAsync($"error: Redis at '{redis}': {e.Message}");
            return AnalyzeCommand.Fatal;
        }
        await using (connection)
        {
            var store = new RedisTimelineStore(connection, new RedisOptions { Configuration = redis, KeyPrefix = prefix });
            var archive = new ParquetArchive(output.FullName, labels);
            var written = 0;
            foreach (var info in await store.ListCallsAsync(tenant, cancellationToken))
            {
                if (info.IsActive || from is { } f && info.LastUpdate < f || to is { } t && info.LastUpdate > t) continue;
                if (await store.GetCallAsync(tenant, info.CallId, cancellationToken) is not { } call) continue;
                Console.WriteLine(await archive.WriteCallAsync(tenant, call, cancellationToken));
                written++;
            }
            await Console.Error.WriteLineAsync($"export: {written} finished call(s) of tenant '{tenant}' written under {output.FullName}");
            return AnalyzeCommand.Ok;
        }
    }
}
