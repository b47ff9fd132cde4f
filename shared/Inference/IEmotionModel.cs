using Streaming.Contracts;

namespace Streaming.Inference;

/// <summary>
/// A window classifier: <see cref="EmotionModel"/> over ONNX Runtime in production; the engine depends
/// only on this, so windowing, batching and voting are testable without a model file.
/// </summary>
public interface IEmotionModel
{
    ModelContract Contract { get; }

    /// <summary>
    /// Classifies <paramref name="batchSize"/> windows. <paramref name="batch"/> is row-major
    /// [batchSize, 1, Contract.InputBands, frames]; <paramref name="probabilities"/> receives
    /// [batchSize, Contract.Labels.Count], softmax applied. <paramref name="prosody"/>: for a model whose contract reads prosody,
    /// each window's statistics [batchSize, ProsodyStatistics.Count]; empty otherwise. Safe to call from several threads.
    /// </summary>
    void Run(ReadOnlySpan<float> batch, int batchSize, int frames, Span<float> probabilities, ReadOnlySpan<float> prosody = default);
}
