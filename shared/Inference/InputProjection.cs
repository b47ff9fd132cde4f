using Streaming.Contracts;
using Streaming.Features;

namespace Streaming.Inference;

/// <summary>
/// Turns log-mel rows into rows of the model's input features: the rows themselves for "logmel" models, their
/// MFCCs for "mfcc" models (the same transform the trainer used). Also holds the padding row: the features of
/// a frame at the log floor.
/// </summary>
internal sealed class InputProjection
{
    private readonly MfccTransform? _mfcc;

    public InputProjection(ModelContract contract)
    {
        var features = contract.Features;
        _mfcc = contract.InputKind == ModelContract.Mfcc ? new MfccTransform(features.MelBands, features.MfccCount) : null;
        var floorRow = new float[features.MelBands];
        Array.Fill(floorRow, MathF.Log(features.LogFloor));
        PadRow = new float[contract.InputBands];
        Project(floorRow, PadRow);
    }

    /// <summary>Model-input features of a frame at the log floor: what padding adds.</summary>
    public float[] PadRow { get; }

    /// <summary>Row-major [frames, MelBands] → row-major [frames, InputBands].</summary>
    public void Project(ReadOnlySpan<float> logMelRows, Span<float> inputRows)
    {
        if (_mfcc is null) logMelRows.CopyTo(inputRows);
        else _mfcc.Transform(logMelRows, inputRows);
    }
}
