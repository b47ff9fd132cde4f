using System.Security.Cryptography;
using System.Text;
using Streaming.Contracts;
using Streaming.Features;

namespace Streaming.Training.Data;

/// <summary>
/// One manifest row's features: variant 0 from the clean file, variants 1..n from telephone-augmented
/// copies. Each is row-major [frames, bands], computed by the featurizer's own code.
/// </summary>
/// <remarks><see cref="Prosody"/>: per variant, <see cref="Streaming.Features.Prosody.Frames"/> on the same frames (null unless asked for).</remarks>
internal sealed record Utterance(ManifestRow Row, float[][] Variants, int[] Frames, (int Start, int End)[] Speech, float[][]? Prosody = null);

/// <summary>
/// Computes features for manifest rows once and keeps them in a cache folder, one file per
/// (rows, feature configuration, input kind, augmentation seed, variant), so later runs and every fold
/// of a cross-validation reuse them. Augmentation is precomputed (a fixed number of augmented copies)
/// rather than redrawn per epoch: feature extraction then costs nothing during training.
/// </summary>
internal static class FeatureStore
{
    private const string FormatVersion = "features-v3"; // v2: augmentation sets a random level; v3: its seed is the same in every process

    public static List<Utterance> Build(
        IReadOnlyList<ManifestRow> rows, FeatureConfig config, string kind, int augmentedCopies, int seed,
        string? cacheDir, int threads, Action<string> log, List<string> problems, AugmentationSet set = AugmentationSet.Telephone,
        bool withProsody = false)
    {
        int variants = 1 + augmentedCopies;
        var perVariant = new float[variants][][];
        var perVariantProsody = new float[variants][][];
        var failed = new string?[rows.Count];
        for (int v = 0; v < variants; v++)
        {
            var cachePath = cacheDir is null ? null : Path.Combine(cacheDir, $"{kind}-{Key(rows, config, kind, seed, v, set)}-v{v}.bin");
            var prosodyPath = cacheDir is null || !withProsody ? null : Path.Combine(cacheDir, $"{ProsodyKind}-{Key(rows, config, ProsodyKind, seed, v, set)}-v{v}.bin");
            if (cachePath is not null && TryRead(cachePath, rows.Count, out var cached)
                && (!withProsody || (prosodyPath is not null && TryRead(prosodyPath, rows.Count, out perVariantProsody[v]))))
            {
                perVariant[v] = cached;
                continue;
            }
            var started = DateTime.UtcNow;
            var features = new float[rows.Count][];
            var prosody = withProsody ? new float[rows.Count][] : null;
            Parallel.For(0, rows.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) }, i =>
            {
                try
                {
                    var signal = AudioLoader.LoadMono(rows[i].Path, config.SampleRate);
                    if (v > 0)
                    {
                        int copySeed = AugmentationSeed(seed, v, rows[i].Line);
                        var babble = set == AugmentationSet.Extended
                            ? BabbleSources(rows, i, new Random(~copySeed)).Select(r => AudioLoader.LoadMono(r.Path, config.SampleRate)).ToList()
                            : null;
                        signal = TelephoneAugmenter.Apply(signal, config.SampleRate, new Random(copySeed), set, babble);
                    }
                    features[i] = Compute(signal, config, kind);
                    if (prosody is not null) prosody[i] = AlignedProsody(signal, config, features[i].Length / (kind == ModelContract.Mfcc ? config.MfccCount : config.MelBands));
                }
                catch (Exception e) when (e is IOException or InvalidDataException or Streaming.Audio.AudioFormatException or UnauthorizedAccessException or ArgumentException)
                {
                    failed[i] = $"{rows[i].Describe()}: {e.Message}";
                    features[i] = [];
                    if (prosody is not null) prosody[i] = [];
                }
            });
            log($"features {kind} variant {v}/{variants - 1}{(v > 0 && set != AugmentationSet.Telephone ? $" ({set} augmentation)" : "")}: {rows.Count} files in {(DateTime.UtcNow - started).TotalSeconds:F1} s");
            if (cachePath is not null && failed.All(f => f is null)) Write(cachePath, features);
            if (prosodyPath is not null && failed.All(f => f is null)) Write(prosodyPath, prosody!);
            perVariant[v] = features;
            perVariantProsody[v] = prosody!;
        }
        problems.AddRange(failed.Where(f => f is not null)!);
        int bands = kind == ModelContract.Mfcc ? config.MfccCount : config.MelBands;
        var result = new List<Utterance>(rows.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            if (failed[i] is not null) continue;
            var vs = new float[variants][];
            var frames = new int[variants];
            var speech = new (int, int)[variants];
            for (int v = 0; v < variants; v++)
            {
                vs[v] = perVariant[v][i];
                frames[v] = vs[v].Length / bands;
                speech[v] = SpeechSpan(vs[v], frames[v], bands, kind == ModelContract.Mfcc ? MathF.Sqrt(config.MelBands) : 1f);
            }
            if (frames[0] == 0) { problems.Add($"{rows[i].Describe()}: shorter than one feature frame"); continue; }
            result.Add(new Utterance(rows[i], vs, frames, speech, withProsody ? perVariantProsody.Select(p => p[i]).ToArray() : null));
        }
        return result;
    }

    /// <summary>
    /// Frames [start, end) from the first to the last frame within 35 dB of the loudest, by mean log-mel power
    /// (for MFCCs c0/√bands, the same quantity under the orthonormal DCT): the utterance without its leading
    /// and trailing silence.
    /// </summary>
    public static (int Start, int End) SpeechSpan(ReadOnlySpan<float> features, int frames, int bands, float c0Scale)
    {
        if (frames == 0) return (0, 0);
        const float Range = 8.06f; // 35 dB in natural-log power units: ln(10^3.5)
        var energy = new float[frames];
        for (int t = 0; t < frames; t++)
        {
            var row = features.Slice(t * bands, bands);
            energy[t] = c0Scale == 1f ? System.Numerics.Tensors.TensorPrimitives.Sum(row) / bands : row[0] / c0Scale;
        }
        float floor = System.Numerics.Tensors.TensorPrimitives.Max<float>(energy) - Range;
        int start = 0, end = frames;
        while (start < frames - 1 && energy[start] < floor) start++;
        while (end > start + 1 && energy[end - 1] < floor) end--;
        return (start, end);
    }

    private const string ProsodyKind = "prosody";

    /// <summary><see cref="Prosody.Frames"/>, which uses the log-mels' frame grid: frame t means the same samples in both.</summary>
    internal static float[] AlignedProsody(ReadOnlySpan<float> signal, FeatureConfig config, int frames)
    {
        var p = Prosody.Frames(signal, config, out int computed);
        if (computed != frames) throw new InvalidOperationException($"prosody gave {computed} frames where the features have {frames}");
        return p;
    }

    /// <summary>Features of a whole signal, trimmed to the frames produced.</summary>
    public static float[] Compute(ReadOnlySpan<float> signal, FeatureConfig config, string kind)
    {
        int frames;
        float[] all = kind == ModelContract.Mfcc
            ? FeatureExtraction.Mfcc(signal, config, out frames)
            : FeatureExtraction.LogMel(signal, config, out frames);
        int bands = kind == ModelContract.Mfcc ? config.MfccCount : config.MelBands;
        return all.Length == frames * bands ? all : all.AsSpan(0, frames * bands).ToArray();
    }

    /// <summary>
    /// Log-mels of a whole signal as the featurizer stage hands them to the classifier: rounded to half precision
    /// (<see cref="FramePrecision"/>). The tools that measure the runtime (evaluate, calibrate, quantize, nonspeech) feed the
    /// classifier engine these; training and fit-gate keep <see cref="Compute"/>'s float32 values.
    /// </summary>
    public static float[] ClassifierFrames(ReadOnlySpan<float> signal, FeatureConfig config)
    {
        var logMel = Compute(signal, config, ModelContract.LogMel);
        FramePrecision.Round(logMel);
        return logMel;
    }

    /// <summary>
    /// A whole file as the featurizer stage publishes it, in one final message: its log-mels and, for a model that reads prosody,
    /// its prosody frames, both rounded to half precision.
    /// </summary>
    public static FeatureFrames ClassifierMessage(ReadOnlySpan<float> signal, ModelContract contract, StreamKey stream)
    {
        var logMel = ClassifierFrames(signal, contract.Features);
        int frames = logMel.Length / contract.Features.MelBands;
        float[]? prosody = null;
        if (contract.Prosody)
        {
            prosody = AlignedProsody(signal, contract.Features, frames);
            FramePrecision.Round(prosody);
        }
        return new FeatureFrames(stream, SpeakerRole.Unknown, 0, 0, frames, contract.Features.MelBands, logMel, IsFinal: true, DateTimeOffset.UnixEpoch,
            Prosody: prosody);
    }

    /// <summary>
    /// The seed of one augmented copy of one manifest row. Plain arithmetic, not HashCode.Combine: .NET randomises that per
    /// process, so two runs with the same --seed trained on different copies and could not be reproduced.
    /// </summary>
    public static int AugmentationSeed(int seed, int variant, int line) =>
        unchecked((int)(((ulong)(uint)seed * 0x9E3779B97F4A7C15UL ^ (ulong)(uint)variant * 0xC2B2AE3D27D4EB4FUL ^ (ulong)(uint)line * 0x165667B19E3779F9UL) >> 33));

    /// <summary>
    /// Three recordings of other speakers for row <paramref name="index"/>'s babble, drawn from the same corpus and the same fold:
    /// folds split by speaker, so a training copy never carries the voice of a speaker the cross-validation tests on.
    /// </summary>
    internal static IEnumerable<ManifestRow> BabbleSources(IReadOnlyList<ManifestRow> rows, int index, Random rng)
    {
        var row = rows[index];
        var candidates = rows.Where(r => r.Corpus == row.Corpus && r.Fold == row.Fold && r.Speaker != row.Speaker).ToList();
        return candidates.Count == 0 ? [] : Enumerable.Range(0, 3).Select(_ => candidates[rng.Next(candidates.Count)]);
    }

    /// <summary>The feature frame of digital silence: what a window is padded with, as the runtime pads audio with zeros.</summary>
    public static float[] SilenceFrame(FeatureConfig config, string kind) =>
        Compute(new float[config.WindowLength], config, kind);

    private static string Key(IReadOnlyList<ManifestRow> rows, FeatureConfig config, string kind, int seed, int variant, AugmentationSet set)
    {
        var text = new StringBuilder().Append(FormatVersion).Append('|').Append(config).Append('|').Append(kind)
            .Append('|').Append(variant == 0 ? 0 : seed);
        if (variant > 0 && set != AugmentationSet.Telephone) text.Append('|').Append(set); // the telephone copies keep their cache names
        foreach (var r in rows) text.Append('|').Append(r.Path).Append('#').Append(r.Line);
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16].ToLowerInvariant();
    }

    private static bool TryRead(string path, int count, out float[][] features)
    {
        features = [];
        if (!File.Exists(path)) return false;
        using var reader = new BinaryReader(File.OpenRead(path));
        if (reader.ReadInt32() != count) return false;
        features = new float[count][];
        for (int i = 0; i < count; i++)
        {
            var f = new float[reader.ReadInt32()];
            reader.BaseStream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(f.AsSpan()));
            features[i] = f;
        }
        return true;
    }

    private static void Write(string path, float[][] features)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + ".tmp";
        using (var writer = new BinaryWriter(File.Create(temp)))
        {
            writer.Write(features.Length);
            foreach (var f in features)
            {
                writer.Write(f.Length);
                writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(f.AsSpan()));
            }
        }
        File.Move(temp, path, overwrite: true);
    }
}
