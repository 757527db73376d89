namespace Tempo.LoadGen;

/// <summary>A snapshot of a running benchmark, reported after every send and every end.</summary>
/// <param name="Planned">Calls the run intends to send (collective calls counted individually).</param>
/// <param name="Sent">Calls sent so far.</param>
/// <param name="Ended">Calls ended so far (completed, failed, or abandoned with their job).</param>
/// <param name="Failed">Calls that ended without a full response (abandoned calls included).</param>
/// <param name="InFlight">Calls sent and not yet ended.</param>
/// <param name="ElapsedS">Seconds since the first send.</param>
public readonly record struct BenchProgress(int Planned, int Sent, int Ended, int Failed, int InFlight, double ElapsedS);
