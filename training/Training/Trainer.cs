using System.Diagnostics;
using Streaming.Features;
using Streaming.Training.Data;
using Streaming.Training.Evaluation;
using Streaming.Training.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Streaming.Training;

internal sealed record TrainSettings(
    int BatchSize = 32,
    int MaxEpochs = 30,
    int Patience = 6,
    double LearningRate = 1e-3,
    double WeightDecay = 1e-4,
    int Seed = 1234,
    int MinTailFrames = 50,
    int MaxTimeMask = 20,
    int MaxBandMask = 8,
    bool TrimSilence = false,
    int MinEpochs = 10,
    int Passes = 1,
    bool CosineSchedule = false,
    double Mixup = 0,
    SpeakerNormSettings? SpeakerNorm = null,
    bool BalanceCorpora = false);

internal sealed record EpochLog(int Epoch, double TrainLoss, double ValidationUa, double ValidationWa, double Seconds);

/// <summary>
/// Trains one <see cref="EmotionNet"/> on feature windows: each epoch visits every training utterance
/// <c>Passes</c> times, each time as a random window of a random augmented copy (the original file when there are none), short
/// utterances padded with silence at a random offset; SpecAugment-style time and band masks; a
/// class-weighted loss balances the classes; AdamW, optionally with the learning rate annealed along a cosine
/// to zero at the last epoch; early stopping on validation UA keeps the best epoch.
/// </summary>
internal sealed class Trainer(EmotionNet net, ModelSpec spec, TrainSettings settings, float[] silence, Action<string> log)
{
    private readonly int _bands = net.Bands;
    private float[] _mean = [];
    // speaker normalisation: the prior (training-set speech statistics) and the training speakers' clips
    private float[] _priorMean = [], _priorStd = [];
    private Dictionary<string, List<Utterance>> _trainSpeakers = [];
    private const int EvaluationSeed = 7919;

    public List<EpochLog> Fit(IReadOnlyList<Utterance> train, IReadOnlyList<Utterance> validation)
    {
        if (train.Count == 0) throw new InvalidOperationException("no training utterances");
        var rng = new Random(settings.Seed);
        torch.manual_seed(settings.Seed);
        SetNormalisation(train);
        if (net.UsesProsody) SetProsodyNormalisation(train);
        if (settings.SpeakerNorm is not null) _trainSpeakers = BySpeaker(train);

        var counts = new double[spec.Labels.Count];
        foreach (var u in train) counts[u.Row.Label]++;
        var weights = counts.Select(c => c == 0 ? 0f : (float)(train.Count / (spec.Labels.Count * c))).ToArray();
        log($"class counts [{string.Join(", ", counts)}], loss weights [{string.Join(", ", weights.Select(w => w.ToString("F2")))}]");
        using var lossWeights = tensor(weights);
        using var optimizer = optim.AdamW(net.parameters(), settings.LearningRate, weight_decay: settings.WeightDecay);
        // with a constant rate the validation UA of this small data set swings by 10-15 points between epochs;
        // annealing settles the last epochs so the best one is not a lucky swing
        var schedule = settings.CosineSchedule ? optim.lr_scheduler.CosineAnnealingLR(optimizer, settings.MaxEpochs) : null;

        var history = new List<EpochLog>();
        Dictionary<string, Tensor>? best = null;
        double bestUa = double.NegativeInfinity;
        int sinceBest = 0;
        for (int epoch = 1; epoch <= settings.MaxEpochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            net.train();
            var order = settings.BalanceCorpora
                ? BalancedOrder(train, settings.Passes, rng)
                : Enumerable.Repeat(Enumerable.Range(0, train.Count), settings.Passes).SelectMany(i => i).OrderBy(_ => rng.Next()).ToArray();
            double lossSum = 0;
            int batches = 0;
            for (int b = 0; b < order.Length; b += settings.BatchSize)
            {
                using var scope = torch.NewDisposeScope();
                var items = order.AsSpan(b, Math.Min(settings.BatchSize, order.Length - b)).ToArray().Select(i => train[i]).ToArray();
                var (x, gender, y, prosody) = Batch(items, rng);
                optimizer.zero_grad();
                var loss = settings.Mixup > 0
                    ? MixupLoss(x, gender, y, prosody, lossWeights, rng)
                    : nn.functional.cross_entropy(net.Logits(x, gender, prosody), y, weight: lossWeights);
                loss.backward();
                optimizer.step();
                lossSum += loss.item<float>();
                batches++;
            }
            schedule?.step();
            var val = validation.Count > 0 ? Score(validation) : null;
            var entry = new EpochLog(epoch, lossSum / batches, val?.Ua ?? double.NaN, val?.Wa ?? double.NaN, clock.Elapsed.TotalSeconds);
            history.Add(entry);
            log($"epoch {epoch,3}  loss {entry.TrainLoss:F4}  val UA {entry.ValidationUa:P1}  WA {entry.ValidationWa:P1}  {entry.Seconds:F1} s");
            if (val is null || val.Ua > bestUa)
            {
                bestUa = val?.Ua ?? double.NaN;
                sinceBest = 0;
                best?.Values.ToList().ForEach(t => t.Dispose());
                best = net.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
            }
            // the CNN-BiLSTM can sit at chance for several epochs before it starts to learn: no stop before MinEpochs
            else if (++sinceBest >= settings.Patience && epoch >= settings.MinEpochs)
            {
                log($"early stop: no validation UA gain in {settings.Patience} epochs; best {bestUa:P1}");
                break;
            }
        }
        if (best is not null)
        {
            net.load_state_dict(best);
            foreach (var t in best.Values) t.Dispose();
        }
        net.eval();
        return history;
    }

    /// <summary>
    /// One epoch's utterance indices with every corpus drawing the same number of windows, passes × the smallest corpus's
    /// utterances (so the smallest is visited as in a plain epoch and the others are subsampled); each corpus walks through its
    /// own utterances in shuffled rounds, never one utterance twice before all its others.
    /// </summary>
    internal static int[] BalancedOrder(IReadOnlyList<Utterance> train, int passes, Random rng)
    {
        var corpora = Enumerable.Range(0, train.Count).GroupBy(i => train[i].Row.Corpus).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => g.ToArray()).ToList();
        int each = passes * corpora.Min(c => c.Length);
        var order = new List<int>(each * corpora.Count);
        foreach (var members in corpora)
        {
            var round = Array.Empty<int>();
            for (int k = 0; k < each; k++)
            {
                if (k % members.Length == 0) round = [.. members.OrderBy(_ => rng.Next())];
                order.Add(round[k % members.Length]);
            }
        }
        return [.. order.OrderBy(_ => rng.Next())];
    }

    /// <summary>
    /// Mixup: the batch blended with a shuffled copy of itself, λ ~ Beta(α, α), and the loss blended the same
    /// way, a regulariser for small data sets (on RAVDESS it did not beat the plain recipe, models/README.md).
    /// </summary>
    private Tensor MixupLoss(Tensor x, Tensor gender, Tensor y, Tensor? prosody, Tensor lossWeights, Random rng)
    {
        float lambda = (float)SampleBeta(settings.Mixup, rng);
        var perm = tensor(Enumerable.Range(0, (int)x.shape[0]).OrderBy(_ => rng.Next()).Select(i => (long)i).ToArray());
        var logits = net.Logits(lambda * x + (1 - lambda) * x.index_select(0, perm), lambda * gender + (1 - lambda) * gender.index_select(0, perm),
            prosody is null ? null : lambda * prosody + (1 - lambda) * prosody.index_select(0, perm));
        return lambda * nn.functional.cross_entropy(logits, y, weight: lossWeights)
            + (1 - lambda) * nn.functional.cross_entropy(logits, y.index_select(0, perm), weight: lossWeights);
    }

    /// <summary>Beta(a, a) as G₁/(G₁+G₂) of two Gamma(a) draws (Marsaglia-Tsang; a &lt; 1 boosted by U^(1/a)).</summary>
    internal static double SampleBeta(double a, Random rng)
    {
        double Gamma()
        {
            double shape = a < 1 ? a + 1 : a, d = shape - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
            while (true)
            {
                double z, v;
                do
                {
                    // Box-Muller normal
                    z = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
                    v = 1 + c * z;
                } while (v <= 0);
                v = v * v * v;
                double u = 1 - rng.NextDouble();
                if (Math.Log(u) < 0.5 * z * z + d - d * v + d * Math.Log(v))
                    return a < 1 ? d * v * Math.Pow(1 - rng.NextDouble(), 1 / a) : d * v;
            }
        }
        double g1 = Gamma(), g2 = Gamma();
        return g1 / (g1 + g2);
    }

    /// <summary>Utterance-level metrics on the clean variant: window probabilities averaged per utterance.</summary>
    public Metrics Score(IReadOnlyList<Utterance> utterances, PrefixOrder order = PrefixOrder.Random, double? prefixSeconds = null)
    {
        var probabilities = Predict(utterances, order, prefixSeconds);
        var predicted = probabilities.Select(p => Metrics.ArgMax(p)).ToList();
        return Metrics.Compute(utterances.Select(u => u.Row.Label).ToList(), predicted, spec.Labels.Count);
    }

    /// <summary>
    /// Mean softmax over each utterance's windows (clean variant), eval mode. With speaker normalisation each utterance's
    /// statistics come from a prefix of its speaker's other clips in <paramref name="utterances"/> (seeded per row, so
    /// every epoch's validation sees the same prefixes): <paramref name="prefixSeconds"/> of speech, or drawn like the training
    /// prefixes when null; 0 is the prior alone (a call's start).
    /// </summary>
    public List<float[]> Predict(IReadOnlyList<Utterance> utterances, PrefixOrder order = PrefixOrder.Random, double? prefixSeconds = null)
    {
        net.eval();
        int w = spec.WindowFrames, labels = spec.Labels.Count;
        var speakers = settings.SpeakerNorm is null ? null : BySpeaker(utterances);
        var stats = speakers is null ? null : utterances.Select(u =>
        {
            var rng = new Random(EvaluationSeed * 7 + u.Row.Line);
            int frames = prefixSeconds is double seconds ? (int)(seconds * FramesPerSecond) : PrefixFrames(rng);
            return SpeakerStatistics(u, speakers, 0, order, frames, rng);
        }).ToList();
        var jobs = new List<(int Utterance, int Start)>();
        for (int i = 0; i < utterances.Count; i++)
            foreach (var s in Windowing.Starts(utterances[i].Frames[0], w, spec.HopFrames, settings.MinTailFrames))
                jobs.Add((i, s));
        var sums = utterances.Select(_ => new float[labels]).ToList();
        var windowCounts = new int[utterances.Count];
        const int maxBatch = 64;
        var buffer = new float[maxBatch * _bands * w];
        var gender = new float[maxBatch * 3];
        var prosody = new float[maxBatch * ProsodyStatistics.Count];
        for (int j = 0; j < jobs.Count; j += maxBatch)
        {
            using var scope = torch.NewDisposeScope();
            int n = Math.Min(maxBatch, jobs.Count - j);
            Array.Clear(gender);
            for (int k = 0; k < n; k++)
            {
                var (ui, start) = jobs[j + k];
                var u = utterances[ui];
                int length = Math.Min(w, u.Frames[0] - start);
                Windowing.Fill(u.Variants[0], _bands, start, length, 0, silence, w, buffer.AsSpan(k * _bands * w, _bands * w));
                if (stats is not null) SpeakerNormalisation.Apply(buffer.AsSpan(k * _bands * w, _bands * w), w, stats[ui].Mean, stats[ui].Std);
                gender[k * 3 + GenderIndex(u.Row.Gender)] = 1;
                if (net.UsesProsody) WindowProsody(u, 0, start, length, prosody.AsSpan(k * ProsodyStatistics.Count, ProsodyStatistics.Count));
            }
            using var _ = no_grad();
            var x = tensor(buffer.AsSpan(0, n * _bands * w).ToArray(), [n, 1, _bands, w]);
            var g = tensor(gender.AsSpan(0, n * 3).ToArray(), [n, 3]);
            var pr = net.UsesProsody ? tensor(prosody.AsSpan(0, n * ProsodyStatistics.Count).ToArray(), [n, ProsodyStatistics.Count]) : null;
            var p = EmotionNet.Values(nn.functional.softmax(net.Logits(x, g, pr), 1));
            for (int k = 0; k < n; k++)
            {
                var ui = jobs[j + k].Utterance;
                for (int l = 0; l < labels; l++) sums[ui][l] += p[k * labels + l];
                windowCounts[ui]++;
            }
        }
        for (int i = 0; i < sums.Count; i++)
            for (int l = 0; l < labels; l++) sums[i][l] /= windowCounts[i];
        return sums;
    }

    private (Tensor X, Tensor Gender, Tensor Y, Tensor? Prosody) Batch(Utterance[] items, Random rng)
    {
        int w = spec.WindowFrames;
        var prosody = net.UsesProsody ? new float[items.Length * ProsodyStatistics.Count] : null;
        var buffer = new float[items.Length * _bands * w];
        var gender = new float[items.Length * 3];
        var labels = new long[items.Length];
        for (int k = 0; k < items.Length; k++)
        {
            var u = items[k];
            // the augmented copies carry the level randomisation; the original (variant 0) is for evaluation
            int v = u.Variants.Length > 1 ? 1 + rng.Next(u.Variants.Length - 1) : 0;
            // trimmed: windows from the speech span only, so the share of leading/trailing silence in a window
            // (which differs between corpora) cannot become a cue
            var (first, end) = settings.TrimSilence ? u.Speech[v] : (0, u.Frames[v]);
            int frames = end - first;
            var dst = buffer.AsSpan(k * _bands * w, _bands * w);
            int start = frames >= w ? first + rng.Next(frames - w + 1) : first;
            if (frames >= w) Windowing.Fill(u.Variants[v], _bands, start, w, 0, silence, w, dst);
            else Windowing.Fill(u.Variants[v], _bands, first, frames, rng.Next(w - frames + 1), silence, w, dst);
            if (prosody is not null) WindowProsody(u, v, start, Math.Min(w, frames), prosody.AsSpan(k * ProsodyStatistics.Count, ProsodyStatistics.Count));
            if (settings.SpeakerNorm is not null)
            {
                // the prefix clips each come from a random augmented copy: a copy's level is random, so level stays no cue
                var (mean, std) = SpeakerStatistics(u, _trainSpeakers, -1, PrefixOrder.Random, PrefixFrames(rng), rng);
                SpeakerNormalisation.Apply(dst, w, mean, std);
            }
            Mask(dst, w, rng);
            gender[k * 3 + GenderIndex(u.Row.Gender)] = 1;
            labels[k] = u.Row.Label;
        }
        return (tensor(buffer, [items.Length, 1, _bands, w]), tensor(gender, [items.Length, 3]), tensor(labels),
            prosody is null ? null : tensor(prosody, [items.Length, ProsodyStatistics.Count]));
    }

    /// <summary>The prosodic statistics of the window's own frames (padding adds none, as silence in a stream adds no voiced frame).</summary>
    private static void WindowProsody(Utterance u, int variant, int start, int length, Span<float> statistics)
    {
        var frames = u.Prosody?[variant] ?? throw new InvalidOperationException($"{u.Row.Describe()} has no prosody frames");
        ProsodyStatistics.Of(frames.AsSpan(start * Prosody.Values, length * Prosody.Values), length, statistics);
    }

    /// <summary>The prosodic branch's standardisation: statistics of every window (hop as in evaluation) of the training copies.</summary>
    private void SetProsodyNormalisation(IReadOnlyList<Utterance> train)
    {
        var sum = new double[ProsodyStatistics.Count];
        var sq = new double[ProsodyStatistics.Count];
        var statistics = new float[ProsodyStatistics.Count];
        long n = 0;
        foreach (var u in train)
            for (int v = u.Variants.Length > 1 ? 1 : 0; v < u.Variants.Length; v++)
                foreach (var s in Windowing.Starts(u.Frames[v], spec.WindowFrames, spec.HopFrames, settings.MinTailFrames))
                {
                    WindowProsody(u, v, s, Math.Min(spec.WindowFrames, u.Frames[v] - s), statistics);
                    for (int i = 0; i < statistics.Length; i++) { sum[i] += statistics[i]; sq[i] += statistics[i] * (double)statistics[i]; }
                    n++;
                }
        var mean = sum.Select(x => (float)(x / n)).ToArray();
        var std = sq.Select((x, i) => (float)Math.Sqrt(Math.Max(0, x / n - mean[i] * (double)mean[i]))).ToArray();
        log($"prosody statistics over {n} training windows: mean [{string.Join(", ", mean.Select(m => m.ToString("F2")))}], std [{string.Join(", ", std.Select(m => m.ToString("F2")))}]");
        ((CnnBiLstm)net).SetProsodyNormalisation(mean, std);
    }

    /// <summary>
    /// SpecAugment: one time stripe and one band stripe set to the training mean (zero after standardisation;
    /// with speaker normalisation the window is standardised already, so zero).
    /// </summary>
    private void Mask(Span<float> window, int w, Random rng)
    {
        int tw = rng.Next(settings.MaxTimeMask + 1), t0 = rng.Next(w - tw + 1);
        int bw = rng.Next(settings.MaxBandMask + 1), b0 = rng.Next(_bands - bw + 1);
        for (int b = 0; b < _bands; b++)
        {
            var row = window.Slice(b * w, w);
            float fill = settings.SpeakerNorm is null ? _mean[b] : 0f;
            if (b >= b0 && b < b0 + bw) row.Fill(fill);
            else row.Slice(t0, tw).Fill(fill);
        }
    }

    private static Dictionary<string, List<Utterance>> BySpeaker(IEnumerable<Utterance> utterances) =>
        utterances.GroupBy(u => SpeakerNormalisation.SpeakerKey(u.Row)).ToDictionary(g => g.Key, g => g.ToList());

    /// <summary>How much of the speaker's speech a stream has heard before the window, drawn uniformly in frames.</summary>
    private int PrefixFrames(Random rng)
    {
        var s = settings.SpeakerNorm!;
        double seconds = s.MinSeconds + rng.NextDouble() * (s.MaxSeconds - s.MinSeconds);
        return (int)(seconds * FramesPerSecond);
    }

    private const double FramesPerSecond = 100; // 10 ms frames (FeatureConfig.Telephone8k hop)

    /// <summary>
    /// Statistics for a window of <paramref name="target"/> from its speaker's other clips; <paramref name="variant"/>
    /// -1 takes each earlier clip from a random augmented copy (training), otherwise that variant (0: clean, evaluation).
    /// </summary>
    private (float[] Mean, float[] Std) SpeakerStatistics(Utterance target, Dictionary<string, List<Utterance>> speakers, int variant,
        PrefixOrder order, int frames, Random rng)
    {
        var earlier = frames == 0 ? new List<Utterance>() : SpeakerNormalisation.Earlier(target, speakers[SpeakerNormalisation.SpeakerKey(target.Row)], order, NeutralLabel, rng);
        var clips = earlier.Select(u =>
        {
            int v = variant >= 0 ? variant : u.Variants.Length > 1 ? 1 + rng.Next(u.Variants.Length - 1) : 0;
            return (u.Variants[v], u.Speech[v]);
        });
        return SpeakerNormalisation.Statistics(clips, _bands, frames, _priorMean, _priorStd, settings.SpeakerNorm!.PriorFrames);
    }

    private int NeutralLabel => spec.Labels.ToList().IndexOf("neutral");

    /// <summary>Per-band mean and standard deviation over every frame of the copies training draws from.</summary>
    private void SetNormalisation(IReadOnlyList<Utterance> train)
    {
        var sum = new double[_bands];
        var sq = new double[_bands];
        long n = 0;
        foreach (var u in train)
        {
            for (int v = u.Variants.Length > 1 ? 1 : 0; v < u.Variants.Length; v++)
            {
                var f = u.Variants[v];
                for (int t = 0; t < u.Frames[v]; t++)
                    for (int b = 0; b < _bands; b++) { double x = f[t * _bands + b]; sum[b] += x; sq[b] += x * x; }
                n += u.Frames[v];
            }
        }
        _mean = sum.Select(s => (float)(s / n)).ToArray();
        var std = sq.Select((s, b) => (float)Math.Sqrt(Math.Max(1e-12, s / n - (sum[b] / n) * (sum[b] / n)))).ToArray();
        if (settings.SpeakerNorm is null)
        {
            net.SetNormalisation(_mean, std);
            return;
        }
        // speaker normalisation standardises the windows before the net, so the net's own step is the identity; the
        // prior is the training copies' speech statistics, the same frames the speaker statistics are taken from
        net.SetNormalisation(new float[_bands], Enumerable.Repeat(1f, _bands).ToArray());
        (_priorMean, _priorStd) = SpeakerNormalisation.Prior(
            train.SelectMany(u => Enumerable.Range(u.Variants.Length > 1 ? 1 : 0, u.Variants.Length > 1 ? u.Variants.Length - 1 : 1).Select(v => (u.Variants[v], u.Speech[v]))), _bands);
    }

    private static int GenderIndex(string gender) => gender switch { "M" or "m" => 0, "F" or "f" => 1, _ => 2 };
}
