using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Streaming.Contracts;
using Streaming.Features;
using Streaming.Inference;
using Streaming.Training.Evaluation;
using Streaming.Training.Models;
using TorchSharp;

namespace Streaming.Training;

/// <summary>The command line: train, cv, export, evaluate.</summary>
internal static class Cli
{
    private const string DefaultManifest = "../shared/data/emotion/manifest.csv";

    // recall of a class absent from a fold is NaN, which JSON has no number for
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static Command Build()
    {
        // not a RootCommand: that one is named after the executable ("train"), which collides with the train verb
        var root = new Command("streaming-train", "Trains, cross-validates, exports and evaluates the speech-emotion model (TorchSharp → ONNX).")
        {
            new System.CommandLine.Help.HelpOption(),
        };
        root.Subcommands.Add(TrainCommand());
        root.Subcommands.Add(CvCommand());
        root.Subcommands.Add(ExportCommand());
        root.Subcommands.Add(EvaluateCommand());
        root.Subcommands.Add(CalibrateCommand());
        root.Subcommands.Add(OptimizeCommand());
        root.Subcommands.Add(QuantizeCommand());
        root.Subcommands.Add(NonSpeechCommand());
        root.Subcommands.Add(FitGateCommand());
        root.Subcommands.Add(BenchmarkCommand());
        return root;
    }

    // options shared by train and cv
    private static readonly Option<string> ManifestOption = new("--manifest") { Description = "manifest CSV (path relative to its folder, label4, corpus, speaker, gender, split, fold)", DefaultValueFactory = _ => DefaultManifest };
    private static readonly Option<string> ArchOption = new("--arch") { Description = $"architecture: {string.Join(", ", ModelSpec.Architectures)}", DefaultValueFactory = _ => ModelSpec.CnnBiLstmName };
    private static readonly Option<string> ChannelsOption = new("--channels") { Description = "channels per conv block, comma-separated", DefaultValueFactory = _ => "16,32,64,64" };
    private static readonly Option<int> HiddenOption = new("--hidden") { Description = "LSTM units per direction (fused: MLP units)", DefaultValueFactory = _ => 128 };
    private static readonly Option<double> DropoutOption = new("--dropout") { DefaultValueFactory = _ => 0.3 };
    private static readonly Option<int> WindowOption = new("--window") { Description = "window frames (10 ms each)", DefaultValueFactory = _ => 200 };
    private static readonly Option<int> HopOption = new("--hop") { Description = "hop between windows, frames", DefaultValueFactory = _ => 100 };
    private static readonly Option<int> EpochsOption = new("--epochs") { DefaultValueFactory = _ => 30 };
    private static readonly Option<int> PatienceOption = new("--patience") { Description = "stop after this many epochs without a validation UA gain", DefaultValueFactory = _ => 8 };
    private static readonly Option<int> MinEpochsOption = new("--min-epochs") { Description = "never stop early before this epoch", DefaultValueFactory = _ => 10 };
    private static readonly Option<int> BatchOption = new("--batch") { DefaultValueFactory = _ => 32 };
    private static readonly Option<double> LrOption = new("--lr") { DefaultValueFactory = _ => 1e-3 };
    private static readonly Option<int> SeedOption = new("--seed") { DefaultValueFactory = _ => 1234 };
    private static readonly Option<int> AugmentOption = new("--augment") { Description = "augmented copies per file (telephone channel)", DefaultValueFactory = _ => 4 };
    private static readonly Option<int> ThreadsOption = new("--threads") { Description = "CPU threads for torch and feature extraction", DefaultValueFactory = _ => 1 };
    private static readonly Option<string> CacheOption = new("--cache") { Description = "feature cache folder", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "streaming-train-cache") };
    private static readonly Option<string> NormOption = new("--norm") { Description = "input standardisation: global (training-set per-band mean) or window (each window's own per-band mean)", DefaultValueFactory = _ => ModelSpec.GlobalNorm };
    private static readonly Option<string> AugmentSetOption = new("--augment-set") { Description = "augmentation of the copies: telephone (speed, band limit, noise, level, G.711) or extended (adds room reverberation, babble of other speakers from the same fold, GSM and AMR-NB codecs; needs sox)", DefaultValueFactory = _ => "telephone" };
    private static readonly Option<bool> ProsodyOption = new("--prosody") { Description = "cnn-bilstm: fuse a prosodic branch (pitch, voicing, energy, jitter- and shimmer-like statistics of each window) with the pooled embedding (issue 12, lever 5; the model then reads the prosody the featurizer publishes)" };
    private static readonly Option<bool> BalanceCorporaOption = new("--balance-corpora") { Description = "with several --corpora: every corpus draws the same share of each epoch's windows (issue 12, lever 3)" };
    private static readonly Option<string> PoolingOption = new("--pooling") { Description = $"cnn-bilstm: pool the LSTM outputs over time by {ModelSpec.MeanPooling} or {ModelSpec.AttentiveStatsPooling} (attention-weighted mean and standard deviation)", DefaultValueFactory = _ => ModelSpec.MeanPooling };
    private static readonly Option<string?> CorporaOption = new("--corpora") { Description = "train (and cross-validate) on these corpora only, comma-separated; default all" };
    private static readonly Option<int> TimeMaskOption = new("--time-mask") { Description = "SpecAugment: widest masked time stripe, frames (0 = off)", DefaultValueFactory = _ => 20 };
    private static readonly Option<int> BandMaskOption = new("--band-mask") { Description = "SpecAugment: widest masked band stripe (0 = off)", DefaultValueFactory = _ => 8 };
    private static readonly Option<int> PassesOption = new("--passes") { Description = "random windows drawn from each training utterance per epoch", DefaultValueFactory = _ => 1 };
    private static readonly Option<bool> CosineOption = new("--cosine") { Description = "anneal the learning rate along a cosine to zero at --epochs" };
    private static readonly Option<double> MixupOption = new("--mixup") { Description = "mixup: blend each batch with a shuffled copy, weight ~ Beta(α, α); α (0 = off)", DefaultValueFactory = _ => 0 };
    private static readonly Option<bool> TrimOption = new("--trim-silence") { Description = "cut training windows from each file's speech span (leading/trailing silence dropped)" };
    private static readonly Option<bool> SpeakerNormOption = new("--speaker-norm") { Description = "standardise each window by its speaker's statistics from a random prefix of the speaker's other clips, blended with the training-set prior (issue 12, lever 1; cross-validation only: the runtime keeps no per-stream statistics)" };
    private static readonly Option<string> SpeakerPrefixOption = new("--speaker-prefix-seconds") { Description = "with --speaker-norm: range of speech heard before a window, seconds, drawn uniformly", DefaultValueFactory = _ => "2,60" };
    private static readonly Option<double> SpeakerPriorOption = new("--speaker-prior-frames") { Description = "with --speaker-norm: weight of the training-set statistics, in 10 ms frames", DefaultValueFactory = _ => 300 };
    private static readonly Option<string?> JsonOption = new("--json") { Description = "write the results as JSON here" };

    private static Command TrainCommand()
    {
        var valFold = new Option<int?>("--val-fold") { Description = "fold whose speakers are held out for early stopping", DefaultValueFactory = _ => 5 };
        var output = new Option<string?>("--out") { Description = "write the ONNX model here" };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "save weights and spec.json in this folder" };
        var name = new Option<string>("--name") { DefaultValueFactory = _ => "emotion-cnn-bilstm" };
        var version = new Option<string>("--model-version") { DefaultValueFactory = _ => "1.0.0" };
        var cmd = new Command("train", "train on the manifest's train rows, early-stop on a held-out fold, score the cross-corpus rows, export ONNX")
        {
            ManifestOption, ArchOption, ChannelsOption, HiddenOption, DropoutOption, WindowOption, HopOption, EpochsOption, PatienceOption, MinEpochsOption,
            BatchOption, LrOption, SeedOption, AugmentOption, AugmentSetOption, ThreadsOption, CacheOption, JsonOption, NormOption, PoolingOption, ProsodyOption, CorporaOption, BalanceCorporaOption, TimeMaskOption, BandMaskOption, TrimOption, PassesOption, CosineOption, MixupOption, SpeakerNormOption, SpeakerPrefixOption, SpeakerPriorOption, valFold, output, checkpoint, name, version,
        };
        cmd.SetAction(p =>
        {
            var (data, spec, settings) = Read(p, p.GetValue(name)!, p.GetValue(version)!);
            if (settings.SpeakerNorm is not null && (p.GetValue(output) is not null || p.GetValue(checkpoint) is not null))
                throw new ArgumentException("--speaker-norm trains a model for inputs standardised per speaker, which the runtime does not do yet: --out and --checkpoint are refused");
            var result = Jobs.Train(data, spec, settings, p.GetValue(valFold), Log);
            using var net = result.Net;
            if (p.GetValue(checkpoint) is string dir) { Jobs.SaveCheckpoint(net, result.Spec, dir); Log($"checkpoint written to {dir}"); }
            if (p.GetValue(output) is string path) { Jobs.Export(net, result.Spec, data.Features, path); Log($"ONNX model written to {path} ({new FileInfo(path).Length:N0} bytes)"); }
            WriteJson(p.GetValue(JsonOption), new { spec = result.Spec, settings, result.History, validation = result.Validation, cross_corpus = result.CrossCorpus, skipped_rows = result.SkippedRows });
            return 0;
        });
        return cmd;
    }

    private static Command CvCommand()
    {
        var folds = new Option<string>("--folds") { Description = "test folds, comma-separated", DefaultValueFactory = _ => "0,1,2,3,4,5" };
        var models = new Option<string?>("--models") { Description = "write each fold's model here as fold-K.onnx (to quantize and evaluate it afterwards)" };
        var cmd = new Command("cv", "leave-one-fold-out cross-validation over the manifest's speaker folds")
        {
            ManifestOption, ArchOption, ChannelsOption, HiddenOption, DropoutOption, WindowOption, HopOption, EpochsOption, PatienceOption, MinEpochsOption,
            BatchOption, LrOption, SeedOption, AugmentOption, AugmentSetOption, ThreadsOption, CacheOption, JsonOption, NormOption, PoolingOption, ProsodyOption, CorporaOption, BalanceCorporaOption, TimeMaskOption, BandMaskOption, TrimOption, PassesOption, CosineOption, MixupOption, SpeakerNormOption, SpeakerPrefixOption, SpeakerPriorOption, folds, models,
        };
        cmd.SetAction(p =>
        {
            var (data, spec, settings) = Read(p, "cv", "cv");
            var results = Jobs.CrossValidate(data, spec, settings, ParseInts(p.GetValue(folds)!, "--folds"), Log, p.GetValue(models));
            foreach (var corpus in results.SelectMany(r => r.ByCorpus.Keys).Distinct().Order())
            {
                var ms = results.Where(r => r.ByCorpus.ContainsKey(corpus)).Select(r => r.ByCorpus[corpus]).ToList();
                Log($"{spec.Architecture} {corpus} over {ms.Count} folds: UA {MeanStd(ms.Select(m => m.Ua))}  WA {MeanStd(ms.Select(m => m.Wa))}  macro-F1 {MeanStd(ms.Select(m => m.MacroF1))}");
            }
            WriteJson(p.GetValue(JsonOption), new { spec, settings, folds = results });
            return 0;
        });
        return cmd;
    }

    private static Command ExportCommand()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "folder written by train --checkpoint", Required = true };
        var output = new Option<string>("--out") { Description = "ONNX file to write", Required = true };
        var cmd = new Command("export", "write a trained checkpoint as ONNX with the metadata contract") { checkpoint, output };
        cmd.SetAction(p =>
        {
            var features = FeatureConfig.Telephone8k;
            var (net, spec) = Jobs.LoadCheckpoint(p.GetValue(checkpoint)!, features);
            using (net) Jobs.Export(net, spec, features, p.GetValue(output)!);
            Log($"ONNX model written to {p.GetValue(output)}");
            return 0;
        });
        return cmd;
    }

    private static Command EvaluateCommand()
    {
        var model = new Option<string>("--model") { Description = "ONNX model file", Required = true };
        var manifest = new Option<string>("--manifest") { Description = "manifest CSV (path relative to its folder, label4)", Required = true };
        var split = new Option<string?>("--split") { Description = "only rows with this split value (e.g. crosscorpus)" };
        var corpus = new Option<string?>("--corpus") { Description = "only rows of this corpus" };
        var folds = new Option<string?>("--folds") { Description = "only rows of these folds, comma-separated (a cv fold model's test fold)" };
        var png = new Option<string?>("--confusion-png") { Description = "draw the confusion matrix to this PNG" };
        var predictions = new Option<string?>("--predictions") { Description = "write each file's label, predicted label and speech-window labels to this CSV (to compare two runs file by file)" };
        var cmd = new Command("evaluate", "run an ONNX model through ONNX Runtime on a labelled manifest and print UA, WA, macro-F1")
        {
            model, manifest, split, corpus, folds, ThreadsOption, JsonOption, png, predictions,
        };
        cmd.SetAction(p =>
        {
            var report = OnnxEvaluator.Run(p.GetValue(model)!, p.GetValue(manifest)!, p.GetValue(split), p.GetValue(corpus), p.GetValue(ThreadsOption), Log,
                folds: p.GetValue(folds) is string f ? ParseInts(f, "--folds").ToHashSet() : null);
            Console.WriteLine($"ua {report.Ua:F4}  wa {report.Wa:F4}  macro_f1 {report.MacroF1:F4}  (n={report.Count}, skipped {report.SkippedRows})");
            for (int r = 0; r < report.Labels.Count; r++)
                Console.WriteLine($"  {report.Labels[r],-8} recall {report.Recall[r]:P1}  [{string.Join(' ', report.Confusion[r].Select(c => c.ToString(CultureInfo.InvariantCulture).PadLeft(4)))}]");
            WriteJson(p.GetValue(JsonOption), report);
            if (p.GetValue(predictions) is string csv) WritePredictions(csv, report);
            if (p.GetValue(png) is string pngPath)
            {
                ConfusionPlot.Save(pngPath, report.Labels, report.Confusion, $"{Path.GetFileName(report.Model)}: UA {report.Ua:P1}, n={report.Count}");
                Log($"confusion matrix drawn to {pngPath}");
            }
            return 0;
        });
        return cmd;
    }

    private static Command CalibrateCommand()
    {
        var model = new Option<string>("--model") { Description = "ONNX model file", Required = true };
        var fold = new Option<int>("--fold") { Description = "fold whose speakers fit the temperature (the shipped model's validation fold)", DefaultValueFactory = _ => 5 };
        var corpus = new Option<string>("--corpus") { Description = "corpus of the fitting fold", DefaultValueFactory = _ => "ravdess,turevdb" };
        var output = new Option<string?>("--out") { Description = "write the model with the temperature applied here" };
        var version = new Option<string?>("--model-version") { Description = "model_version of the written model" };
        var diagram = new Option<string?>("--diagram") { Description = "draw the reliability diagrams to this PNG" };
        var cmd = new Command("calibrate", "fit a temperature on one fold's speech windows through the runtime; report expected calibration error there and on the cross-corpus rows before and after; optionally write the calibrated model")
        {
            model, ManifestOption, fold, corpus, output, version, diagram, JsonOption,
        };
        cmd.SetAction(p =>
        {
            using var m = OnnxEvaluator.OpenModel(p.GetValue(model)!, 1);
            var manifest = Data.Manifest.Load(p.GetValue(ManifestOption)!, m.Contract.Labels);
            List<(float[] P, int Label)> Windows(IEnumerable<Data.ManifestRow> rows) =>
                OnnxEvaluator.SpeechWindows(m, rows, []).SelectMany(f => f.Windows.Select(w => (w, f.Row.Label))).ToList();
            var fit = Windows(manifest.Rows.Where(r => r.Corpus == p.GetValue(corpus) && r.Fold == p.GetValue(fold)));
            var cross = Windows(manifest.Rows.Where(r => r.Split == "crosscorpus"));
            double t = Calibration.FitTemperature(fit);
            List<(float[] P, int Label)> Scaled(List<(float[] P, int Label)> ws) => ws.Select(w => (Calibration.Scale(w.P, t), w.Label)).ToList();
            var report = new Dictionary<string, object> { ["temperature"] = t };
            foreach (var (name, before) in new[] { ($"{p.GetValue(corpus)} fold {p.GetValue(fold)}", fit), ("cross-corpus", cross) })
            {
                var (b, a) = (Calibration.Reliability(before), Calibration.Reliability(Scaled(before)));
                Console.WriteLine($"{name}: {before.Count} speech windows, ECE {Calibration.ExpectedCalibrationError(b):P1} → {Calibration.ExpectedCalibrationError(a):P1}, NLL {Calibration.NegativeLogLikelihood(before, 1):F3} → {Calibration.NegativeLogLikelihood(before, t):F3}");
                report[name] = new { windows = before.Count, ece_before = Calibration.ExpectedCalibrationError(b), ece_after = Calibration.ExpectedCalibrationError(a), before = b, after = a };
            }
            Console.WriteLine($"temperature {t:F3}");
            if (p.GetValue(diagram) is string png)
                ReliabilityPlot.Save(png, $"{m.Contract.Version}: T = {t:F2} fitted on {p.GetValue(corpus)} fold {p.GetValue(fold)}",
                    ("fold, raw", Calibration.Reliability(fit)), ("fold, calibrated", Calibration.Reliability(Scaled(fit))),
                    ("cross-corpus, raw", Calibration.Reliability(cross)), ("cross-corpus, calibrated", Calibration.Reliability(Scaled(cross))));
            if (p.GetValue(output) is string path)
            {
                Onnx.OnnxTemperature.Write(p.GetValue(model)!, path, t, p.GetValue(version) ?? m.Contract.Version);
                Log($"calibrated model written to {path}");
            }
            WriteJson(p.GetValue(JsonOption), report);
            return 0;
        });
        return cmd;
    }

    private static Command OptimizeCommand()
    {
        var model = new Option<string>("--model") { Description = "ONNX model file", Required = true };
        var output = new Option<string>("--out") { Description = "where to write the rewritten model", Required = true };
        var version = new Option<string>("--model-version") { Description = "model_version of the written model", Required = true };
        var cmd = new Command("optimize", "rewrite a model's ELU activations into the form ONNX Runtime's CPU provider runs fastest (same outputs; what every export now does)")
        {
            model, output, version,
        };
        cmd.SetAction(p =>
        {
            int replaced = Onnx.OnnxEluRewrite.Write(p.GetValue(model)!, p.GetValue(output)!, p.GetValue(version)!);
            Log($"{replaced} ELU nodes rewritten; model written to {p.GetValue(output)}");
            return 0;
        });
        return cmd;
    }

    private static Command QuantizeCommand()
    {
        var model = new Option<string>("--model") { Description = "float ONNX model file", Required = true };
        var output = new Option<string>("--out") { Description = "where to write the quantized model", Required = true };
        var version = new Option<string>("--model-version") { Description = "model_version of the written model", Required = true };
        var corpus = new Option<string>("--corpus") { Description = "corpus of the calibration files", DefaultValueFactory = _ => "ravdess" };
        var folds = new Option<string>("--folds") { Description = "folds of the calibration files: the model's training folds", DefaultValueFactory = _ => "0,1,2,3,4" };
        var files = new Option<int>("--files") { Description = "calibration files, drawn at random from those folds", DefaultValueFactory = _ => 240 };
        var cmd = new Command("quantize", "static INT8 quantization (QDQ) of the convolutions, activation ranges calibrated on training files through the runtime's windowing and speech gate, each file a random telephone-augmented copy")
        {
            model, output, version, ManifestOption, corpus, folds, files, SeedOption,
        };
        cmd.SetAction(p =>
        {
            using var m = OnnxEvaluator.OpenModel(p.GetValue(model)!, 1);
            var manifest = Data.Manifest.Load(p.GetValue(ManifestOption)!, m.Contract.Labels);
            var foldSet = ParseInts(p.GetValue(folds)!, "--folds").ToHashSet();
            int seed = p.GetValue(SeedOption);
            var rows = manifest.Rows.Where(r => r.Corpus == p.GetValue(corpus) && r.Fold is int f && foldSet.Contains(f))
                .OrderBy(r => r.Line).ToList();
            new Random(seed).Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(rows));
            rows = rows.Take(p.GetValue(files)).ToList();
            if (rows.Count == 0) throw new InvalidOperationException($"no {p.GetValue(corpus)} rows in folds {p.GetValue(folds)} to calibrate on");
            var recorder = new RecordingModel(m);
            var problems = new List<string>();
            int rate = m.Contract.Features.SampleRate;
            foreach (var _ in OnnxEvaluator.SpeechWindows(recorder, rows, problems,
                prepare: (row, signal) => Data.TelephoneAugmenter.Apply(signal, rate, new Random(seed + row.Line)))) { }
            foreach (var problem in problems) Log(problem);
            string note = $"calibrated on {recorder.Windows.Count} speech windows of {rows.Count} {p.GetValue(corpus)} files of folds {p.GetValue(folds)}, telephone-augmented (seed {seed})";
            Log(note);
            int convs = Onnx.OnnxInt8.Write(p.GetValue(model)!, p.GetValue(output)!, recorder.Windows, m.Contract.InputBands, p.GetValue(version)!, note);
            Log($"{convs} convolutions quantized; model written to {p.GetValue(output)}");
            return 0;
        });
        return cmd;
    }

    /// <summary>Passes windows to the model and keeps each one's input: what the runtime really feeds the model.</summary>
    private sealed class RecordingModel(IEmotionModel inner) : IEmotionModel
    {
        public List<float[]> Windows { get; } = [];

        public ModelContract Contract => inner.Contract;

        public void Run(ReadOnlySpan<float> batch, int batchSize, int frames, Span<float> probabilities, ReadOnlySpan<float> prosody = default)
        {
            int size = Contract.InputBands * frames;
            for (int i = 0; i < batchSize; i++) Windows.Add(batch.Slice(i * size, size).ToArray());
            inner.Run(batch, batchSize, frames, probabilities, prosody);
        }
    }

    private static Command NonSpeechCommand()
    {
        var model = new Option<string>("--model") { Description = "ONNX model file", Required = true };
        var clips = new Option<int>("--clips") { Description = "generated clips per kind", DefaultValueFactory = _ => 20 };
        var seconds = new Option<double>("--seconds") { Description = "length of each clip", DefaultValueFactory = _ => 20 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var levelOnly = new Option<bool>("--level-only") { Description = "the level rule alone, without the window decision (what the gate did before it)" };
        var cmd = new Command("nonspeech", "run generated non-speech (DTMF, call-progress tones, hold music, line noise, a synthetic voice) through the speech gate and model; print the share of windows given an emotion label")
        {
            model, clips, seconds, seed, levelOnly, JsonOption,
        };
        cmd.SetAction(p =>
        {
            using var m = OnnxEvaluator.OpenModel(p.GetValue(model)!, 1);
            var results = NonSpeechEvaluator.Run(m, p.GetValue(clips), p.GetValue(seconds), p.GetValue(seed), new Streaming.Inference.ClassifierOptions { RejectNonSpeech = !p.GetValue(levelOnly) });
            foreach (var r in results)
                Console.WriteLine($"{r.Kind,-16} {r.Clips} clips, {r.Windows} windows, {r.Labelled} with an emotion label: {r.FalseLabelRate:P1}");
            WriteJson(p.GetValue(JsonOption), results);
            return 0;
        });
        return cmd;
    }

    private static Command FitGateCommand()
    {
        var clips = new Option<int>("--clips") { Description = "generated non-speech clips per kind", DefaultValueFactory = _ => 250 };
        var corpora = new Option<string>("--speech-corpora") { Description = "corpora whose speech the gate is fitted on, comma-separated (emodb is always held out)", DefaultValueFactory = _ => "ravdess,turevdb" };
        var cmd = new Command("fit-gate", "fit the speech gate's window decision (logistic regression) on speech of the manifest's rows against generated non-speech; print the constants for shared/Inference/SpeechGate.cs and the pass rates on training and held-out speech and non-speech")
        {
            ManifestOption, clips, corpora, ThreadsOption,
        };
        cmd.SetAction(p =>
        {
            var fit = GateFitter.Fit(p.GetValue(ManifestOption)!, p.GetValue(corpora)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), p.GetValue(clips), p.GetValue(ThreadsOption), Log);
            static string Floats(float[] values) => string.Join(", ", values.Select(w => w.ToString("R", CultureInfo.InvariantCulture) + "f"));
            Console.WriteLine($"    private static readonly float[] Mean = [{Floats(fit.Mean)}];");
            Console.WriteLine($"    private static readonly float[] Scale = [{Floats(fit.Scale)}];");
            Console.WriteLine($"    private static readonly float[] Weights = [{Floats(fit.Weights)}];");
            Console.WriteLine($"    private const float Bias = {fit.Bias.ToString("R", CultureInfo.InvariantCulture)}f;");
            return 0;
        });
        return cmd;
    }

    private static Command BenchmarkCommand()
    {
        var model = new Option<string>("--model") { Description = "ONNX model file", Required = true };
        var runs = new Option<int>("--runs") { Description = "timed single-window runs per thread count", DefaultValueFactory = _ => 500 };
        var cmd = new Command("benchmark", "time ONNX Runtime per window (batch 1) with 1 and 2 intra-op threads") { model, runs };
        cmd.SetAction(p =>
        {
            foreach (var threads in new[] { 1, 2 })
            {
                using var m = OnnxEvaluator.OpenModel(p.GetValue(model)!, threads);
                var c = m.Contract;
                var input = new float[c.InputBands * c.WindowFrames];
                for (int i = 0; i < input.Length; i++) input[i] = -5f + (i % 17) * 0.3f;
                var probabilities = new float[c.Labels.Count];
                // a window's prosodic statistics as speech gives them (voiced share, pitch, ...), for a model that reads them
                float[] prosody = c.Prosody ? [0.6f, 11f, 4f, 9f, -2f, 1f, 0.6f, 2f, 6f, 0.4f, 6f, 0.8f] : [];
                for (int i = 0; i < 20; i++) m.Run(input, 1, c.WindowFrames, probabilities, prosody);
                var times = new double[p.GetValue(runs)];
                for (int i = 0; i < times.Length; i++)
                {
                    long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                    m.Run(input, 1, c.WindowFrames, probabilities, prosody);
                    times[i] = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                }
                Console.WriteLine($"threads {threads}: window {c.WindowFrames} frames ({c.WindowSeconds:F1} s): {Summary(times)}");
            }
            if (ModelContract.FromFile(p.GetValue(model)!) is { Prosody: true } contract)
            {
                // what the classifier adds per window for such a model: the statistics of the window's prosody frames
                var signal = new float[contract.WindowFrames * contract.Features.HopLength + contract.Features.WindowLength];
                for (int i = 0; i < signal.Length; i++) signal[i] = (float)(0.2 * Math.Sin(2 * Math.PI * (140 + 30 * Math.Sin(i * 5e-4)) * i / contract.Features.SampleRate));
                var frames = Prosody.Frames(signal, contract.Features, out int count);
                var statistics = new float[ProsodyStatistics.Count];
                var times = new double[p.GetValue(runs)];
                for (int i = 0; i < times.Length; i++)
                {
                    long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                    ProsodyStatistics.Of(frames, count, statistics);
                    times[i] = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                }
                Console.WriteLine($"prosodic statistics of a {count}-frame window: {Summary(times)}");
            }
            return 0;
        });
        return cmd;
    }

    private static string Summary(double[] times)
    {
        Array.Sort(times);
        return $"median {times[times.Length / 2]:F3} ms, p90 {times[times.Length * 9 / 10]:F3} ms, min {times[0]:F3} ms over {times.Length} runs";
    }

    private static (DataOptions, ModelSpec, TrainSettings) Read(ParseResult p, string name, string version)
    {
        int threads = p.GetValue(ThreadsOption);
        torch.set_num_threads(Math.Max(1, threads));
        var spec = new ModelSpec(p.GetValue(ArchOption)!, ParseInts(p.GetValue(ChannelsOption)!, "--channels"), p.GetValue(HiddenOption),
            p.GetValue(DropoutOption), ModelSpec.DefaultLabels, p.GetValue(WindowOption), p.GetValue(HopOption), name, version,
            TrainingData: "", Licence: "", p.GetValue(NormOption)!, p.GetValue(PoolingOption)!, p.GetValue(ProsodyOption)); // train states both from the rows it trains on
        if (!ModelSpec.Architectures.Contains(spec.Architecture))
            throw new ArgumentException($"--arch '{spec.Architecture}' is not one of {string.Join(", ", ModelSpec.Architectures)}");
        var corpora = p.GetValue(CorporaOption)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var augmentSet = p.GetValue(AugmentSetOption) switch
        {
            "telephone" => Data.AugmentationSet.Telephone,
            "extended" => Data.AugmentationSet.Extended,
            var other => throw new ArgumentException($"--augment-set '{other}' is not telephone or extended"),
        };
        var data = new DataOptions(p.GetValue(ManifestOption)!, FeatureConfig.Telephone8k, p.GetValue(AugmentOption), p.GetValue(CacheOption), threads, TrainCorpora: corpora, Augmentation: augmentSet);
        var settings = new TrainSettings(p.GetValue(BatchOption), p.GetValue(EpochsOption), p.GetValue(PatienceOption), p.GetValue(LrOption),
            Seed: p.GetValue(SeedOption), MaxTimeMask: p.GetValue(TimeMaskOption), MaxBandMask: p.GetValue(BandMaskOption), TrimSilence: p.GetValue(TrimOption), MinEpochs: p.GetValue(MinEpochsOption),
            Passes: Math.Max(1, p.GetValue(PassesOption)), CosineSchedule: p.GetValue(CosineOption), Mixup: p.GetValue(MixupOption),
            SpeakerNorm: p.GetValue(SpeakerNormOption) ? SpeakerNorm(p) : null, BalanceCorpora: p.GetValue(BalanceCorporaOption));
        if (settings.SpeakerNorm is not null && spec.Normalisation != ModelSpec.GlobalNorm)
            throw new ArgumentException($"--speaker-norm replaces --norm {spec.Normalisation}: use one of them");
        Log($"{spec.Architecture} channels [{string.Join(',', spec.Channels)}] hidden {spec.LstmHidden} dropout {spec.Dropout} window {spec.WindowFrames} hop {spec.HopFrames} norm {spec.Normalisation} pooling {spec.Pooling}{(spec.Prosody ? " + prosodic branch" : "")}; {settings}; threads {threads}; corpora {(corpora is null ? "all" : string.Join(',', corpora))}");
        return (data, spec, settings);
    }

    private static SpeakerNormSettings SpeakerNorm(ParseResult p)
    {
        var range = p.GetValue(SpeakerPrefixOption)!.Split(',', StringSplitOptions.TrimEntries);
        if (range.Length != 2 || !double.TryParse(range[0], CultureInfo.InvariantCulture, out var min) || !double.TryParse(range[1], CultureInfo.InvariantCulture, out var max) || min < 0 || max < min)
            throw new ArgumentException($"--speaker-prefix-seconds '{p.GetValue(SpeakerPrefixOption)}' is not MIN,MAX seconds with 0 <= MIN <= MAX");
        double prior = p.GetValue(SpeakerPriorOption);
        if (prior <= 0) throw new ArgumentException($"--speaker-prior-frames {prior} must be positive");
        return new SpeakerNormSettings(min, max, prior);
    }

    private static int[] ParseInts(string text, string option)
    {
        try { return text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); }
        catch (FormatException) { throw new ArgumentException($"{option} '{text}' is not a comma-separated list of integers"); }
    }

    private static string MeanStd(IEnumerable<double> values)
    {
        var v = values.ToArray();
        double mean = v.Average();
        double std = Math.Sqrt(v.Select(x => (x - mean) * (x - mean)).Sum() / Math.Max(1, v.Length - 1));
        return $"{mean:P1} ± {std:P1}";
    }

    /// <summary>One line per evaluated file: manifest line, path, label, predicted label, its speech windows' labels (space-separated).</summary>
    private static void WritePredictions(string path, EvaluationReport report)
    {
        CreateParent(path);
        static string Quoted(string field) => field.IndexOfAny([',', '"', '\n']) < 0 ? field : $"\"{field.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
        var lines = report.Files.Select(f => string.Join(',', f.Row.Line.ToString(CultureInfo.InvariantCulture), Quoted(f.Row.Path), report.Labels[f.Row.Label],
            report.Labels[f.Predicted], string.Join(' ', f.WindowLabels.Select(w => report.Labels[w]))));
        File.WriteAllLines(path, ["line,path,label,predicted,window_labels", .. lines]);
        Log($"predictions written to {path}");
    }

    private static void WriteJson(string? path, object value)
    {
        if (path is null) return;
        CreateParent(path);
        File.WriteAllText(path, JsonSerializer.Serialize(value, Json));
        Log($"results written to {path}");
    }

    private static void CreateParent(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
    }

    private static void Log(string message) => Console.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {message}");
}
