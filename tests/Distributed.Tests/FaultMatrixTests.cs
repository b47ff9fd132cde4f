using System.Diagnostics;
using Streaming.Audio;
using Streaming.Contracts;
using Streaming.Messaging.Kafka;
using Xunit.Abstractions;

namespace Streaming.Tests.Distributed;

/// <summary>
/// The fault matrix of issue 10 on the real Kafka and Redis: two instances of every stage, 20 concurrent stereo calls of 3.5
/// minutes of audio each (the calm sample four times, replayed at 4x real time), and one instance of each stage killed with
/// SIGKILL at a random point mid-call, one after the other. Every call's final timeline must then be the embedded pipeline's,
/// window by window, with no stream left active and no dead letter. The numbers of each cell are written to the test output
/// (docs/reliability.md, "Fault matrix").
/// </summary>
public sealed class FaultMatrixTests(ITestOutputHelper output)
{
    private const int Calls = 20;
    private const int Repeats = 4;
    private const double Speed = 4;

    [Fact]
    public async Task Run_OneInstanceOfEachStageKilledMidCallUnderLoad_EveryTimelineIdenticalToEmbeddedNoStreamActiveNoDeadLetter()
    {
        var file = LongCall();
        try
        {
            var embedded = await DistributedStack.EmbeddedAsync(file, "embedded");
            var perCall = embedded.Speakers.Sum(s => s.Windows.Count);
            await using var stack = await DistributedStack.StartAsync();
            var spares = new[] { "featurizer", "classifier", "aggregator" }.Select(stack.Start).ToList();
            foreach (var spare in spares) await spare.WaitHealthyAsync();
            var calls = Enumerable.Range(0, Calls).Select(i => $"matrix-{i}").ToArray();
            var seed = Environment.TickCount;
            var random = new Random(seed);
            output.WriteLine($"seed {seed}; {Calls} stereo calls of {perCall / 2} windows per speaker; load average {LoadAverage()}");

            var replay = stack.ReplayAsync(file, calls, Speed);
            var cells = new (string Service, ServiceProcess Victim, double From)[]
            {
                ("featurizer", stack.Featurizer, 0.15), ("classifier", stack.Classifier, 0.4), ("aggregator", stack.Aggregator, 0.65),
            };
            foreach (var (service, victim, from) in cells)
            {
                var at = (long)(Calls * perCall * (from + 0.2 * random.NextDouble()));
                await WaitCountAsync(stack, calls, at, $"{at} windows stored before killing a {service}");
                var before = await CountAsync(stack, calls);
                var clock = Stopwatch.StartNew();
                await victim.KillAsync();
                await WaitCountAsync(stack, calls, before + Calls, $"windows stored again after killing a {service}");
                output.WriteLine($"{service}: killed at {before} of {Calls * perCall} windows; {Calls} more stored {clock.Elapsed.TotalSeconds:F1} s later; load average {LoadAverage()}");
            }
            await replay;

            var (lost, extra, differing) = (0, 0, 0);
            var failures = new List<string>();
            foreach (var call in calls)
            {
                var actual = await stack.WaitCompleteAsync(call);
                foreach (var want in embedded.Speakers)
                {
                    var got = actual.Speakers.Single(s => s.Speaker == want.Speaker).Windows.ToDictionary(w => w.Index);
                    var expected = want.Windows.ToDictionary(w => w.Index);
                    lost += expected.Keys.Count(i => !got.ContainsKey(i));
                    extra += got.Keys.Count(i => !expected.ContainsKey(i));
                    foreach (var (index, window) in expected)
                    {
                        if (!got.TryGetValue(index, out var stored)) continue;
                        try
                        {
                            WindowAssert.Same(window, stored);
                        }
                        catch (Xunit.Sdk.XunitException e)
                        {
                            differing++;
                            failures.Add($"{call}: {e.Message}");
                        }
                    }
                }
            }
            var active = (await stack.Store.ListCallsAsync(DistributedStack.Tenant, default)).Where(c => c.IsActive).Select(c => c.CallId).ToList();
            var letters = TopicReader.Read(TestServers.Kafka(), stack.Namespace + DeadLetter.Topic, DeadLetterCodec.Instance, l => (l.SourceTopic, l.Partition, l.Offset), _ => true);
            output.WriteLine($"all faults: {lost} windows lost, {extra} extra (duplicated or unexpected), {differing} differing; {active.Count} calls active; {letters.Count} dead letters; load average {LoadAverage()}");

            Assert.True(lost == 0 && extra == 0 && differing == 0, $"{lost} lost, {extra} extra, {differing} differing: {string.Join("\n", failures.Take(5))}");
            Assert.Empty(active);
            Assert.Empty(letters);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>The calm sample <see cref="Repeats"/> times in a row: a stereo call of 3.5 minutes, in a temporary file.</summary>
    private static string LongCall()
    {
        using var source = WavReader.Open(Path.Combine(ServiceProcess.RepoRoot, "samples", "call-calm.wav"));
        var samples = new List<float>();
        var buffer = new float[4096 * source.Format.Channels];
        for (int n; (n = source.Read(buffer)) > 0;) samples.AddRange(buffer.AsSpan(0, n));
        var once = samples.ToArray();
        var path = Path.Combine(Path.GetTempPath(), $"{TestServers.Unique("matrix")}.wav");
        WavWriter.WritePcm16(path, source.Format.SampleRate, source.Format.Channels, [.. Enumerable.Repeat(once, Repeats).SelectMany(s => s)]);
        return path;
    }

    /// <summary>Windows stored for the calls so far: one HLEN per stream (reading whole timelines this often would load Redis).</summary>
    private static async Task<long> CountAsync(DistributedStack stack, string[] calls)
    {
        var db = stack.Redis.GetDatabase();
        var lengths = calls.SelectMany(c => new[] { "customer", "agent" }.Select(s => db.HashLengthAsync($"{stack.Namespace}:{{{DistributedStack.Tenant}/{c}}}:w:{s}")));
        return (await Task.WhenAll(lengths)).Sum();
    }

    private static async Task WaitCountAsync(DistributedStack stack, string[] calls, long count, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(300);
        while (await CountAsync(stack, calls) < count)
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out after 300 s waiting for {what}; services said:\n{stack.Logs()}");
            await Task.Delay(250);
        }
    }

    private static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[0];
}
