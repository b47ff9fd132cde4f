using Streaming.Contracts;

namespace Streaming.Inference;

/// <summary>
/// Turns one log-mel row into one row of the model's input features: the row itself for "logmel" models,
/// its MFCCs for "mfcc" models. Also holds the padding row, the features of a frame at the log floor.
/// </summary>
internal sealed class InputProjection
{
    private InputProjection(int melBands, int inputBands, float logFloor)
    {
        MelBands = melBands;
        InputBands = inputBands;
        var floorRow = new float[melBands];
        Array.Fill(floorRow, logFloor);
        PadRow = new float[inputBands];
        Project(floorRow, PadRow);
    }

    public int MelBands { get; }
    public int InputBands { get; }

    /// <summary>Model-input features of a frame at the log floor: what padding adds.</summary>
    public float[] PadRow { get; }

    public static InputProjection For(ModelContract contract)
    {
        var floor = MathF.Log(contract.Features.LogFloor);
        return contract.InputKind switch
        {
            ModelContract.LogMel => new InputProjection(contract.Features.MelBands, contract.Features.MelBands, floor),
            _ => throw new ModelContractException(
                $"model '{contract.Name}' takes '{contract.InputKind}' input; this runtime feeds '{ModelContract.LogMel}'"),
        };
    }

    public void Project(ReadOnlySpan<float> logMelRow, Span<float> inputRow) => logMelRow.CopyTo(inputRow);
}
