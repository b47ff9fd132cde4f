using SharpFuzz;
using Streaming.Fuzz;

// `Streaming.Fuzz <target>` is what afl-fuzz runs (scripts/fuzz.sh): SharpFuzz feeds it AFL's inputs in a loop.
if (args is not [var name] || !FuzzTargets.All.TryGetValue(name, out var target))
{
    Console.Error.WriteLine($"usage: Streaming.Fuzz <{string.Join("|", FuzzTargets.All.Keys)}>");
    return 2;
}
Fuzzer.OutOfProcess.Run(stream =>
{
    using var copy = new MemoryStream();
    stream.CopyTo(copy);
    target(copy.ToArray());
});
return 0;
