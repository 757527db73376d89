namespace Tempo.Server;

/// <summary>The engine's state as last published by its thread.</summary>
/// <param name="Running">Requests holding GPU KV.</param>
/// <param name="Waiting">Requests waiting for their first (or a recompute) scheduling, including submissions not yet applied.</param>
/// <param name="Swapped">Requests whose KV is in CPU swap space.</param>
/// <param name="KvUsage">Fraction of GPU KV blocks in use.</param>
/// <param name="Live">Requests accepted and not yet ended.</param>
/// <param name="Steps">Engine steps run.</param>
/// <param name="Preemptions">Swap-outs plus recomputes so far.</param>
/// <param name="Accepting">False once shutdown began or the engine failed.</param>
public sealed record EngineSnapshot(int Running, int Waiting, int Swapped, double KvUsage, int Live, long Steps, long Preemptions, bool Accepting);
