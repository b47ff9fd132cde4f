using CsCheck;
using Streaming.Fuzz;

namespace Streaming.Tests.Fuzz;

/// <summary>
/// The CI part of the fuzzing (docs/reliability.md, "Fuzzing"): every parser's fuzz target runs on its seed corpus,
/// on random bytes and on randomly mutated seeds, a fixed number of inputs each (CsCheck; a failure prints the
/// seed that reproduces it). The long coverage-guided runs use the same targets under AFL++ (scripts/fuzz.sh).
/// </summary>
public sealed class ParserFuzzTests
{
    /// <summary>Inputs per target and generator: a few seconds of CPU per target in CI.</summary>
    private const int Iterations = 4000;

    public static TheoryData<string> Targets => [.. FuzzTargets.All.Keys];

    private static IReadOnlyList<byte[]> Seeds(string target) =>
        [.. Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "corpus", target)).Order().Select(File.ReadAllBytes)];

    [Theory]
    [MemberData(nameof(Targets))]
    public void Target_SeedCorpus_PassesItsInvariants(string target)
    {
        var seeds = Seeds(target);
        Assert.NotEmpty(seeds);
        foreach (var seed in seeds) FuzzTargets.All[target](seed);
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void Target_RandomBytes_NoFailure(string target) =>
        Gen.Byte.Array[0, 600].Sample(FuzzTargets.All[target], iter: Iterations, threads: 1);

    [Theory]
    [MemberData(nameof(Targets))]
    public void Target_MutatedSeeds_NoFailure(string target)
    {
        var seeds = Seeds(target);
        Gen.Select(Gen.Int[0, seeds.Count - 1], Gen.Int, Gen.Int[1, 12])
            .Select((seed, random, mutations) => Mutate(seeds[seed], seeds, new Random(random), mutations))
            .Sample(FuzzTargets.All[target], iter: Iterations, threads: 1);
    }

    /// <summary>AFL's havoc in miniature: flip, set, insert, delete, duplicate and splice bytes; interesting values included.</summary>
    private static byte[] Mutate(byte[] seed, IReadOnlyList<byte[]> seeds, Random random, int mutations)
    {
        var data = new List<byte>(seed);
        ReadOnlySpan<byte> interesting = [0, 1, 0x7F, 0x80, 0xFF, (byte)'"', (byte)'{', (byte)'}', (byte)'9', (byte)'-', (byte)'.', (byte)':', (byte)';', (byte)'('];
        for (var m = 0; m < mutations; m++)
        {
            var at = data.Count == 0 ? 0 : random.Next(data.Count);
            switch (random.Next(6))
            {
                case 0 when data.Count > 0: data[at] ^= (byte)(1 << random.Next(8)); break;
                case 1 when data.Count > 0: data[at] = interesting[random.Next(interesting.Length)]; break;
                case 2: data.Insert(at, (byte)random.Next(256)); break;
                case 3 when data.Count > 0: data.RemoveRange(at, Math.Min(data.Count - at, 1 + random.Next(16))); break;
                case 4 when data.Count > 0:
                    var length = Math.Min(data.Count - at, 1 + random.Next(64));
                    data.InsertRange(random.Next(data.Count), data.GetRange(at, length));
                    break;
                case 5:
                    var other = seeds[random.Next(seeds.Count)];
                    if (other.Length > 0) data.InsertRange(at, other.AsSpan(random.Next(other.Length)).ToArray());
                    break;
            }
        }
        return [.. data];
    }
}
