using Streaming.Contracts;
using Streaming.Features;
using Streaming.Inference;
using Streaming.Training.Data;
using Streaming.Training.Models;

namespace Streaming.Training.Evaluation;

/// <summary>
/// Fits the speech gate's window decision (<see cref="SpeechGate.IsSpeechWindow"/>): a logistic regression over
/// <see cref="SpeechGate.WindowFeatures"/> of 2 s windows, speech from the RAVDESS and TurEV-DB rows (each file clean
/// and one telephone-augmented copy) against generated non-speech (<see cref="NonSpeechSignals"/>, seeds apart from the
/// ones <c>nonspeech</c> reports on). Only windows the level rule already passes count, as in the runtime. The
/// bias is then lowered until 99 % of the training speech windows pass, because a dropped speech window costs
/// the customer's emotion while a rare tone window costs one wrong point. EMO-DB speech is held out and reported.
/// </summary>
internal static class GateFitter
{
    public sealed record Result(float[] Mean, float[] Scale, float[] Weights, float Bias);

    private const int TrainingSeed = 99; // nonspeech reports on seed 1
    private const string HeldOut = "emodb"; // the cross-corpus set stays unseen here too
    private const double SpeechKept = 0.99;

    public static Result Fit(string manifestPath, int clipsPerKind, int threads, Action<string> log)
    {
        var config = FeatureConfig.Telephone8k;
        var options = new ClassifierOptions();
        var gate = new SpeechGate(config, options.SpeechThresholdDbfs);
        var manifest = Manifest.Load(manifestPath, ModelSpec.DefaultLabels);

        List<float[]> Windows(IEnumerable<ManifestRow> rows, bool augment) =>
            rows.AsParallel().AsOrdered().WithDegreeOfParallelism(Math.Max(1, threads)).SelectMany(r =>
            {
                var clean = AudioLoader.LoadMono(r.Path, config.SampleRate);
                var signals = augment ? new[] { clean, TelephoneAugmenter.Apply(clean, config.SampleRate, new Random(r.Line)) } : [clean];
                return signals.SelectMany(s => WindowsOf(FeatureStore.Compute(s, config, ModelContract.LogMel), gate, options));
            }).ToList();

        var speech = Windows(manifest.Rows.Where(r => r.Corpus != HeldOut), augment: true);
        var byKind = NonSpeechSignals.Kinds.Select((kind, k) => Enumerable.Range(0, clipsPerKind).AsParallel().WithDegreeOfParallelism(Math.Max(1, threads))
            .SelectMany(c => WindowsOf(FeatureStore.Compute(NonSpeechSignals.Generate(kind, 20, new Random(TrainingSeed * 7919 + k * 1009 + c)), config, ModelContract.LogMel), gate, options)).ToList()).ToList();
        var noise = byKind.SelectMany(w => w).ToList();
        log($"gate training windows: {speech.Count} speech (RAVDESS and TurEV-DB, clean + augmented), {noise.Count} non-speech");

        var (mean, scale, weights, bias) = Logistic(speech, noise);
        float Score(float[] f)
        {
            var t = new float[SpeechGate.TermCount];
            SpeechGate.Terms(f, mean, scale, t);
            return bias + System.Numerics.Tensors.TensorPrimitives.Dot<float>(weights, t);
        }
        double Pass(List<float[]> windows) => windows.Count(f => Score(f) >= 0) / (double)Math.Max(1, windows.Count);
        // lower the bias until the wanted share of training speech passes
        var scores = speech.Select(Score).Order().ToArray();
        float shift = Math.Min(0, scores[(int)((1 - SpeechKept) * scores.Length)]);
        bias -= shift;
        log($"training: speech kept {Pass(speech):P2}, non-speech passed {Pass(noise):P2} (bias shifted by {-shift:F3}): "
            + string.Join(", ", NonSpeechSignals.Kinds.Select((kind, k) => $"{kind} {Pass(byKind[k]):P1}")));

        var held = Windows(manifest.Rows.Where(r => r.Corpus == HeldOut), augment: false);
        log($"held out: {HeldOut} speech windows kept {Pass(held):P2} of {held.Count}");
        return new Result(mean, scale, weights, bias);
    }

    /// <summary>Feature vectors of the windows the runtime would cut and pass on level alone.</summary>
    private static IEnumerable<float[]> WindowsOf(float[] logMel, SpeechGate gate, ClassifierOptions options)
    {
        int bands = gate.Bands, frames = logMel.Length / bands;
        const int window = 200, hop = 100;
        int minFrames = (int)Math.Round(options.MinClassifiedSeconds * 100);
        if (frames < minFrames) yield break;
        foreach (var start in Windowing.Starts(frames, window, hop, minFrames))
        {
            int real = Math.Min(window, frames - start);
            var rows = logMel.AsSpan(start * bands, real * bands);
            int voiced = 0;
            for (int t = 0; t < real; t++) if (gate.IsVoiced(rows.Slice(t * bands, bands))) voiced++;
            if (voiced < options.MinVoicedFraction * real) continue;
            var f = new float[SpeechGate.WindowFeatureCount];
            if (gate.WindowFeatures(rows, real, f)) yield return f;
        }
    }

    /// <summary>Class-balanced logistic regression on the gate's terms (standardised features and their products), by gradient descent.</summary>
    private static (float[] Mean, float[] Scale, float[] Weights, float Bias) Logistic(List<float[]> positive, List<float[]> negative)
    {
        int d = SpeechGate.WindowFeatureCount, m = SpeechGate.TermCount;
        var all = positive.Concat(negative).ToList();
        var mean = new float[d];
        var scale = new float[d];
        for (int j = 0; j < d; j++)
        {
            mean[j] = all.Average(f => f[j]);
            scale[j] = 1 / MathF.Max(1e-6f, MathF.Sqrt(all.Average(f => (f[j] - mean[j]) * (f[j] - mean[j]))));
        }
        float[][] Expand(List<float[]> set) => set.Select(f => { var t = new float[m]; SpeechGate.Terms(f, mean, scale, t); return t; }).ToArray();
        var sets = new[] { (Expand(positive), 1.0), (Expand(negative), 0.0) };
        var w = new double[m];
        double b = 0;
        const double rate = 0.3, l2 = 3e-3;
        var grad = new double[m];
        for (int step = 0; step < 1500; step++)
        {
            Array.Clear(grad);
            double gradB = 0;
            foreach (var (set, y) in sets)
            {
                double weight = 0.5 / set.Length; // each class half the loss
                foreach (var t in set)
                {
                    double z = b;
                    for (int j = 0; j < m; j++) z += w[j] * t[j];
                    double err = (1 / (1 + Math.Exp(-z)) - y) * weight;
                    for (int j = 0; j < m; j++) grad[j] += err * t[j];
                    gradB += err;
                }
            }
            for (int j = 0; j < m; j++) w[j] -= rate * (grad[j] + l2 * w[j]);
            b -= rate * gradB;
        }
        return (mean, scale, w.Select(v => (float)v).ToArray(), (float)b);
    }
}
