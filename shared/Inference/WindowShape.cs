using Streaming.Contracts;

namespace Streaming.Inference;

/// <summary>Window geometry and model-input layout shared by every stream of one engine, derived once from the contract.</summary>
internal sealed class WindowShape
{
    public WindowShape(ModelContract contract, ClassifierOptions options)
    {
        var features = contract.Features;
        Contract = contract;
        MelBands = features.MelBands;
        InputBands = contract.InputBands;
        WindowFrames = contract.WindowFrames;
        HopFrames = contract.HopFrames;
        WindowFloats = InputBands * WindowFrames;
        SecondsPerFrame = (double)features.HopLength / features.SampleRate;
        MinClassifiedFrames = Math.Max(1, (int)Math.Round(options.MinClassifiedSeconds / SecondsPerFrame));
        MinVoicedFraction = options.MinVoicedFraction;
        Gate = new SpeechGate(features, options.SpeechThresholdDbfs);
        RejectNonSpeech = options.RejectNonSpeech && contract.InputKind == ModelContract.LogMel && Gate.WindowDecisionFits;
        Projection = new InputProjection(contract);
        Prosody = contract.Prosody;
    }

    public ModelContract Contract { get; }
    public int MelBands { get; }
    public int InputBands { get; }
    public int WindowFrames { get; }
    public int HopFrames { get; }

    /// <summary>Floats of one window in model layout [1, InputBands, WindowFrames].</summary>
    public int WindowFloats { get; }

    public double SecondsPerFrame { get; }
    public int MinClassifiedFrames { get; }
    public float MinVoicedFraction { get; }

    /// <summary>Voiced windows must also pass <see cref="SpeechGate.IsSpeechWindow"/> (the buffered rows are log-mels of the configuration it was fitted on).</summary>
    public bool RejectNonSpeech { get; }
    public SpeechGate Gate { get; }
    public InputProjection Projection { get; }

    /// <summary>The model also reads each window's prosodic statistics, from the prosody frames the messages carry.</summary>
    public bool Prosody { get; }
}
