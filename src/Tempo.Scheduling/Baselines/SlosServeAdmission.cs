namespace Tempo.Scheduling.Baselines;

/// <summary>One waiting request as the SLOs-Serve admission DP sees it.</summary>
/// <param name="DeadlineS">Absolute TTFT deadline (arrival + T_f).</param>
/// <param name="PromptTokens">Prompt tokens still to prefill.</param>
/// <param name="TbtS">The request's TBT bound (its decode pace once admitted); 0 when it has none.</param>
/// <param name="Value">Admission value P + 8·L̂ (Q13).</param>
internal readonly record struct AdmissionCandidate(double DeadlineS, int PromptTokens, double TbtS, double Value);

/// <summary>
/// The SLOs-Serve prefill-admission knapsack (§3.10) with the Q13 fixes. Candidates, in TTFT-deadline order, are
/// admitted if the prefill capacity that decode batches leave free before each deadline can absorb their
/// prompts; the DP maximises the total value admitted. A state is "candidate j was the last admitted, with pb
/// prefill tokens of slack carried over and n admitted"; admitting i after j earns
/// <c>floor((d_i − d_j) / tbt) · (budget − decodes − n)</c> tokens of capacity, where tbt is the tightest TBT among
/// the candidates up to j (from now, with the measured unit time, when j is the start). The artifact's
/// layered form also copies states forward on rejection; those copies only ever see less capacity, so keeping
/// the last admitted index gives the same optimum with fewer states. Each layer also drops dominated states (another
/// in the layer has at least as much slack, no more admitted and at least the value): they can never lead to a
/// better admission, and without this a full queue grows every layer to (budget + 1) × 64 states, which took
/// 30–80 ms per decision at 64 candidates.
/// </summary>
/// <param name="pruneDominated">False keeps every state (tests compare both ways: the optimum must not change).</param>
internal sealed class SlosServeAdmission(bool pruneDominated = true)
{
    /// <summary>Q13: the DP considers only this many earliest deadlines.</summary>
    public const int MaxCandidates = 64;

    private readonly List<State> _states = [];
    private readonly List<int> _layerStart = [];
    private readonly Dictionary<(int Pb, int N), int> _layerIndex = [];
    private readonly List<int> _order = [];
    private readonly double[] _bestByN = new double[MaxCandidates + 2];
    private readonly List<State> _kept = [];
    private readonly HashSet<int> _dominated = [];

    /// <summary>
    /// Marks in <paramref name="admitted"/> which candidates (sorted by deadline) to admit; returns the total value.
    /// </summary>
    /// <param name="candidates">Candidates sorted by deadline ascending (at most <see cref="MaxCandidates"/> are used).</param>
    /// <param name="nowS">Current time.</param>
    /// <param name="unitTimeS">Measured iteration time, used before any candidate's TBT applies.</param>
    /// <param name="tokenBudget">Per-iteration token budget.</param>
    /// <param name="runningDecodes">Decodes already in every iteration (running requests).</param>
    /// <param name="admitted">Output flags, one per candidate.</param>
    public double Solve(ReadOnlySpan<AdmissionCandidate> candidates, double nowS, double unitTimeS, int tokenBudget, int runningDecodes, Span<bool> admitted)
    {
        var count = Math.Min(candidates.Length, MaxCandidates);
        admitted.Clear();
        _states.Clear();
        _layerStart.Clear();
        _states.Add(new State(0, 0, 0, -1, 0));
        _layerStart.Add(0);
        for (var i = 0; i < count; i++)
        {
            _layerStart.Add(_states.Count);
            _layerIndex.Clear();
            var c = candidates[i];

            // Layer 0 is the start (now, u); layer j+1 means candidate j was the last admitted.
            var tightest = double.PositiveInfinity;
            for (var layer = 0; layer <= i; layer++)
            {
                var fromS = layer == 0 ? nowS : candidates[layer - 1].DeadlineS;
                if (layer > 0 && candidates[layer - 1].TbtS > 0)
                {
                    tightest = Math.Min(tightest, candidates[layer - 1].TbtS);
                }

                var iterationS = double.IsPositiveInfinity(tightest) ? unitTimeS : tightest;
                var gap = c.DeadlineS - fromS;
                var iterations = gap > 0 && iterationS > 0 ? Math.Floor(gap / iterationS) : 0;
                var end = _layerStart[layer + 1];
                for (var s = _layerStart[layer]; s < end; s++)
                {
                    var from = _states[s];
                    var perIteration = Math.Max(0, tokenBudget - runningDecodes - from.N);
                    var capacity = iterations * perIteration;
                    if (from.Pb + capacity < c.PromptTokens)
                    {
                        continue;
                    }

                    var pb = (int)Math.Min(tokenBudget, Math.Max(0, from.Pb + capacity - c.PromptTokens));
                    var value = from.Value + c.Value;
                    var key = (pb, from.N + 1);
                    if (_layerIndex.TryGetValue(key, out var at))
                    {
                        if (value > _states[at].Value)
                        {
                            _states[at] = new State(pb, from.N + 1, value, s, i + 1);
                        }
                    }
                    else
                    {
                        _layerIndex[key] = _states.Count;
                        _states.Add(new State(pb, from.N + 1, value, s, i + 1));
                    }
                }
            }

            if (pruneDominated)
            {
                PruneDominated(_layerStart[i + 1]);
            }
        }

        var best = 0;
        for (var s = 1; s < _states.Count; s++)
        {
            if (_states[s].Value > _states[best].Value)
            {
                best = s;
            }
        }

        var total = _states[best].Value;
        for (var s = best; s > 0; s = _states[s].Parent)
        {
            admitted[_states[s].Layer - 1] = true;
        }

        return total;
    }

    // Removes from the states at [start, end) every one that another state of the same layer dominates: Pb at least as
    // large, N no larger, Value at least as large. The survivors keep their order.
    private void PruneDominated(int start)
    {
        var end = _states.Count;
        if (end - start < 2)
        {
            return;
        }

        _order.Clear();
        for (var s = start; s < end; s++)
        {
            _order.Add(s);
        }

        // Most slack first; among equal slack fewer admitted, then higher value, so a dominating state is always seen
        // before the states it dominates.
        _order.Sort((a, b) =>
        {
            var (x, y) = (_states[a], _states[b]);
            return x.Pb != y.Pb ? y.Pb.CompareTo(x.Pb) : x.N != y.N ? x.N.CompareTo(y.N) : y.Value.CompareTo(x.Value);
        });
        Array.Fill(_bestByN, double.NegativeInfinity);
        var dominated = _dominated;
        dominated.Clear();
        foreach (var s in _order)
        {
            var state = _states[s];
            var best = double.NegativeInfinity;
            for (var n = 0; n <= state.N && n < _bestByN.Length; n++)
            {
                best = Math.Max(best, _bestByN[n]);
            }

            if (best >= state.Value)
            {
                dominated.Add(s);
            }
            else if (state.N < _bestByN.Length)
            {
                _bestByN[state.N] = Math.Max(_bestByN[state.N], state.Value);
            }
        }

        if (dominated.Count == 0)
        {
            return;
        }

        _kept.Clear();
        for (var s = start; s < end; s++)
        {
            if (!dominated.Contains(s))
            {
                _kept.Add(_states[s]);
            }
        }

        _states.RemoveRange(start, end - start);
        _states.AddRange(_kept);
    }

    private readonly record struct State(int Pb, int N, double Value, int Parent, int Layer);
}
