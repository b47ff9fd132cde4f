using System.Text.Json;
using Streaming.Contracts;
using Streaming.Features;

namespace Streaming.Training.Models;

/// <summary>
/// Everything needed to rebuild a network and its contract: written beside a checkpoint as JSON so
/// <c>export</c> can turn the weights into ONNX later.
/// </summary>
internal sealed record ModelSpec(
    string Architecture,
    int[] Channels,
    int LstmHidden,
    double Dropout,
    IReadOnlyList<string> Labels,
    int WindowFrames,
    int HopFrames,
    string Name,
    string Version,
    string TrainingData,
    string Licence,
    string Normalisation = ModelSpec.GlobalNorm,
    string Pooling = ModelSpec.MeanPooling,
    bool Prosody = false)
{
    public const string GlobalNorm = "global";
    public const string WindowNorm = "window";

    /// <summary>How the CNN-BiLSTM pools its LSTM outputs over time: the plain mean, or attentive statistics (issue 12, lever 2).</summary>
    public const string MeanPooling = "mean";
    public const string AttentiveStatsPooling = "attentive-stats";

    public const string CnnBiLstmName = "cnn-bilstm";
    public const string MfccConv1dName = "mfcc-conv1d";
    public const string MfccLstmName = "mfcc-lstm";
    public const string FusedName = "fused";

    public static readonly string[] Architectures = [CnnBiLstmName, MfccConv1dName, MfccLstmName, FusedName];

    public static readonly string[] DefaultLabels = ["neutral", "happy", "sad", "angry"];

    public string InputKind => Architecture == CnnBiLstmName ? ModelContract.LogMel : ModelContract.Mfcc;

    public int Bands(FeatureConfig config) => InputKind == ModelContract.Mfcc ? config.MfccCount : config.MelBands;

    public EmotionNet Build(FeatureConfig config)
    {
        if (Normalisation is not (GlobalNorm or WindowNorm))
            throw new ArgumentException($"normalisation '{Normalisation}' is not '{GlobalNorm}' or '{WindowNorm}'");
        if (Pooling is not (MeanPooling or AttentiveStatsPooling))
            throw new ArgumentException($"pooling '{Pooling}' is not '{MeanPooling}' or '{AttentiveStatsPooling}'");
        if (Pooling != MeanPooling && Architecture != CnnBiLstmName)
            throw new ArgumentException($"pooling '{Pooling}' is built for {CnnBiLstmName} only, not {Architecture}");
        if (Prosody && Architecture != CnnBiLstmName)
            throw new ArgumentException($"the prosodic branch is built for {CnnBiLstmName} only, not {Architecture}");
        var net = BuildArchitecture(config);
        net.PerWindowMean = Normalisation == WindowNorm;
        return net;
    }

    private EmotionNet BuildArchitecture(FeatureConfig config) => Architecture switch
    {
        CnnBiLstmName => new CnnBiLstm(Bands(config), Labels.Count, Channels, LstmHidden, Dropout, Pooling == AttentiveStatsPooling, Prosody),
        MfccConv1dName => new MfccConv1d(Bands(config), Labels.Count, Channels, Dropout),
        MfccLstmName => new MfccLstm(Bands(config), Labels.Count, LstmHidden, Dropout),
        FusedName => new FusedMlp(Bands(config), Labels.Count, Channels, LstmHidden, Dropout),
        _ => throw new ArgumentException($"unknown architecture '{Architecture}' (expected one of {string.Join(", ", Architectures)})"),
    };

    public ModelContract Contract(FeatureConfig config, EmotionNet net) => new(
        config, InputKind, Labels, WindowFrames, HopFrames, Math.Max(net.MinFrames, 16), Name, Version, TrainingData, Licence, net.UsesProsody);

    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, JsonOptions));

    public static ModelSpec Load(string path) =>
        JsonSerializer.Deserialize<ModelSpec>(File.ReadAllText(path), JsonOptions)
        ?? throw new InvalidDataException($"'{path}' holds no model spec");

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };
}
