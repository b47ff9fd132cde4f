namespace Streaming.Contracts;

/// <summary>
/// A message a stage cannot process (wrong sample rate, frame size that contradicts the model, ...).
/// Hosts log it with its coordinates, dead-letter it and go on with the stream.
/// </summary>
public sealed class MessageRejectedException(string reason) : Exception(reason);
