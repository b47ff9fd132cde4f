using System.Globalization;
using Streaming.Features;

namespace Streaming.Contracts;

/// <summary>What the model expects as input and what it means, stored in the ONNX file's metadata.</summary>
/// <param name="InputKind">"logmel" (input [batch, 1, MelBands, time]) or "mfcc" (input [batch, 1, MfccCount, time]).</param>
/// <param name="WindowFrames">Frames per classified window.</param>
/// <param name="HopFrames">Frames between the starts of consecutive windows.</param>
/// <param name="MinFrames">Shortest input the graph handles correctly; shorter windows are padded to it.</param>
/// <param name="Prosody">The graph has a second input, "prosody" [batch, ProsodyStatistics.Count]: each window's prosodic statistics
/// (<see cref="ProsodyStatistics"/> of <see cref="Streaming.Features.Prosody"/> frames, which the featurizer then publishes beside the log-mels).</param>
public sealed record ModelContract(
    FeatureConfig Features,
    string InputKind,
    IReadOnlyList<string> Labels,
    int WindowFrames,
    int HopFrames,
    int MinFrames,
    string Name,
    string Version,
    string TrainingData,
    string Licence,
    bool Prosody = false)
{
    /// <summary>Bumped when the meaning of the keys below changes.</summary>
    public const string ContractVersion = "1";

    public const string LogMel = "logmel";
    public const string Mfcc = "mfcc";

    /// <summary>The graph's tensor names.</summary>
    public const string InputName = "features";
    public const string OutputName = "logits";
    public const string ProsodyInputName = "prosody";

    /// <summary>The one prosodic input this build computes (metadata <see cref="Keys.Prosody"/>): frame definition and functionals, version 1.</summary>
    public const string ProsodyStatisticsV1 = "pitch-voicing-energy;12-window-functionals;v1";

    public static class Keys
    {
        public const string ContractVersion = "contract_version";
        public const string SampleRate = "sample_rate";
        public const string FftSize = "fft_size";
        public const string WindowLength = "win_length";
        public const string HopLength = "hop_length";
        public const string MelBands = "n_mels";
        public const string FMin = "f_min";
        public const string FMax = "f_max";
        public const string LogFloor = "log_floor";
        public const string MfccCount = "n_mfcc";
        public const string Conventions = "conventions";
        public const string InputKind = "input_kind";
        public const string Labels = "labels";
        public const string WindowFrames = "window_frames";
        public const string HopFrames = "hop_frames";
        public const string MinFrames = "min_frames";
        public const string Name = "model_name";
        public const string Version = "model_version";
        public const string TrainingData = "training_data";
        public const string Licence = "licence";
        public const string Prosody = "prosody_input";
    }

    /// <summary>The framing conventions this code implements; a model stating others is refused.</summary>
    public const string FeatureConventions = "periodic-hann;streaming-framing;power;slaney-mel;slaney-norm;ln;dct2-ortho";

    public int InputBands => InputKind == Mfcc ? Features.MfccCount : Features.MelBands;

    public double WindowSeconds => WindowFrames * (double)Features.HopLength / Features.SampleRate;

    public IReadOnlyDictionary<string, string> ToMetadata()
    {
        var c = CultureInfo.InvariantCulture;
        var metadata = new Dictionary<string, string>
        {
            [Keys.ContractVersion] = ContractVersion,
            [Keys.SampleRate] = Features.SampleRate.ToString(c),
            [Keys.FftSize] = Features.FftSize.ToString(c),
            [Keys.WindowLength] = Features.WindowLength.ToString(c),
            [Keys.HopLength] = Features.HopLength.ToString(c),
            [Keys.MelBands] = Features.MelBands.ToString(c),
            [Keys.FMin] = Features.FMin.ToString("R", c),
            [Keys.FMax] = Features.FMax.ToString("R", c),
            [Keys.LogFloor] = Features.LogFloor.ToString("R", c),
            [Keys.MfccCount] = Features.MfccCount.ToString(c),
            [Keys.Conventions] = FeatureConventions,
            [Keys.InputKind] = InputKind,
            [Keys.Labels] = string.Join(',', Labels),
            [Keys.WindowFrames] = WindowFrames.ToString(c),
            [Keys.HopFrames] = HopFrames.ToString(c),
            [Keys.MinFrames] = MinFrames.ToString(c),
            [Keys.Name] = Name,
            [Keys.Version] = Version,
            [Keys.TrainingData] = TrainingData,
            [Keys.Licence] = Licence,
        };
        if (Prosody) metadata[Keys.Prosody] = ProsodyStatisticsV1;
        return metadata;
    }

    /// <summary>
    /// The contract of a model file, read without loading the graph (for the featurizer). Throws
    /// <see cref="FileNotFoundException"/>, <see cref="InvalidDataException"/> or <see cref="ModelContractException"/> naming the file.
    /// </summary>
    public static ModelContract FromFile(string path)
    {
        var metadata = OnnxMetadata.Read(path);
        try
        {
            return FromMetadata(metadata);
        }
        catch (ModelContractException e)
        {
            throw new ModelContractException($"model file '{path}': {e.Message}");
        }
    }

    /// <summary>Reads the contract back; throws <see cref="ModelContractException"/> naming the missing or bad key.</summary>
    public static ModelContract FromMetadata(IReadOnlyDictionary<string, string> metadata)
    {
        string Get(string key) => metadata.TryGetValue(key, out var v) && !string.IsNullOrWhiteSpace(v)
            ? v
            : throw new ModelContractException($"model metadata lacks '{key}'");
        int Int(string key) => int.TryParse(Get(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
            ? v : throw new ModelContractException($"model metadata '{key}' is not an integer: '{Get(key)}'");
        float Float(string key) => float.TryParse(Get(key), NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
            ? v : throw new ModelContractException($"model metadata '{key}' is not a number: '{Get(key)}'");

        if (Get(Keys.ContractVersion) != ContractVersion)
            throw new ModelContractException($"model metadata '{Keys.ContractVersion}' is {Get(Keys.ContractVersion)}, this build reads {ContractVersion}");
        if (Get(Keys.Conventions) != FeatureConventions)
            throw new ModelContractException($"model metadata '{Keys.Conventions}' is '{Get(Keys.Conventions)}', this build computes '{FeatureConventions}'");

        var features = new FeatureConfig(Int(Keys.SampleRate), Int(Keys.FftSize), Int(Keys.WindowLength), Int(Keys.HopLength),
            Int(Keys.MelBands), Float(Keys.FMin), Float(Keys.FMax), Float(Keys.LogFloor), Int(Keys.MfccCount));
        try { features.Validate(); }
        catch (ArgumentException e) { throw new ModelContractException($"model metadata: {e.Message}"); }

        var kind = Get(Keys.InputKind);
        if (kind is not (LogMel or Mfcc))
            throw new ModelContractException($"model metadata '{Keys.InputKind}' is '{kind}', expected '{LogMel}' or '{Mfcc}'");
        var labels = Get(Keys.Labels).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (labels.Length < 2) throw new ModelContractException($"model metadata '{Keys.Labels}' names fewer than two labels");

        var prosody = metadata.TryGetValue(Keys.Prosody, out var p) && !string.IsNullOrWhiteSpace(p);
        if (prosody && p != ProsodyStatisticsV1)
            throw new ModelContractException($"model metadata '{Keys.Prosody}' is '{p}', this build computes '{ProsodyStatisticsV1}'");

        var contract = new ModelContract(features, kind, labels, Int(Keys.WindowFrames), Int(Keys.HopFrames), Int(Keys.MinFrames),
            Get(Keys.Name), Get(Keys.Version), Get(Keys.TrainingData), Get(Keys.Licence), prosody);
        if (contract.WindowFrames < contract.MinFrames || contract.HopFrames <= 0)
            throw new ModelContractException($"model metadata: '{Keys.WindowFrames}' must be >= '{Keys.MinFrames}' and '{Keys.HopFrames}' positive");
        return contract;
    }

    /// <summary>Throws <see cref="ModelContractException"/> naming the first field where <paramref name="featurizer"/> differs.</summary>
    public void EnsureMatches(FeatureConfig featurizer)
    {
        foreach (var p in typeof(FeatureConfig).GetProperties())
        {
            var mine = p.GetValue(Features);
            var theirs = p.GetValue(featurizer);
            if (!Equals(mine, theirs))
                throw new ModelContractException($"featurizer {p.Name} is {theirs} but model '{Name}' was trained with {mine}");
        }
    }
}

/// <summary>The model file does not carry a usable contract, or the runtime configuration contradicts it.</summary>
public sealed class ModelContractException(string message) : Exception(message);
