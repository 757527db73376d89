using Tempo.Core;

namespace Tempo.Reports;

/// <summary>The request records of one (policy, rate) run, for the per-request export.</summary>
/// <param name="Policy">Policy name (for <c>tempo bench</c>: the run's label).</param>
/// <param name="Rate">Offered load, as in the results document.</param>
/// <param name="Records">Every record of the run, each request once (collective verdicts need the whole job).</param>
/// <param name="Weights">Gain weights the run's metrics used.</param>
public sealed record RunRecords(string Policy, double Rate, IReadOnlyList<RequestRecord> Records, GainWeights Weights);
