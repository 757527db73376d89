using Tempo.Core;
using Tempo.Workloads;

namespace Tempo.Simulation.Bounds;

/// <summary>
/// The units a workload's gain comes in: one per latency stream or throughput call, and one per collective job (its
/// gain is all or nothing), each with a window, its priced work and its shortest time alone.
/// </summary>
/// <param name="ReleaseS">Arrival (a job: its first call's).</param>
/// <param name="DeadlineS">Absolute deadline (a stream: its last token's).</param>
/// <param name="WorkS">Engine seconds of all its work, a lower bound.</param>
/// <param name="MinTimeS">Shortest time from release to finish, even alone (a job: its stages one after another).</param>
/// <param name="Gain">Service gain if everything is on time.</param>
/// <param name="Requests">Requests it holds (a job: its calls).</param>
/// <param name="Stream">The stream's spec, for latency requests; null otherwise.</param>
internal sealed record WorkUnit(double ReleaseS, double DeadlineS, double WorkS, double MinTimeS, double Gain, int Requests, RequestSpec? Stream);

/// <summary>Builds <see cref="WorkUnit"/>s.</summary>
internal static class WorkUnits
{
    /// <summary>
    /// The units of <paramref name="workload"/>. A request longer than <paramref name="maxModelLen"/> is rejected on
    /// arrival: it takes no engine time and earns nothing, and a job that holds one can never be on time.
    /// </summary>
    public static List<WorkUnit> Of(Workload workload, WorkPricing pricing, GainWeights w, int maxModelLen)
    {
        bool Fits(RequestSpec r) => r.PromptTokens + r.OutputTokens <= maxModelLen;
        double Work(RequestSpec r) => Fits(r) ? pricing.CallS(r.PromptTokens, r.OutputTokens) : 0;
        double MinTime(RequestSpec r) => Fits(r) ? pricing.CallMinS(r.PromptTokens, r.OutputTokens) : 0;

        var units = new List<WorkUnit>();
        foreach (var r in workload.Requests.Where(r => r.Class != RequestClass.Collective || r.JobId is null))
        {
            if (!Fits(r))
            {
                units.Add(new WorkUnit(r.ArrivalS, r.ArrivalS, 0, 0, 0, 0, null));
                continue;
            }

            var work = pricing.CallS(r.PromptTokens, r.OutputTokens);
            var minTime = pricing.CallMinS(r.PromptTokens, r.OutputTokens);
            var gain = w.Of(r.PromptTokens, r.OutputTokens);
            units.Add(r.Class switch
            {
                RequestClass.Latency => new WorkUnit(r.ArrivalS, r.ArrivalS + r.Slo.TtftS + (Math.Max(0, r.OutputTokens - 1) * r.Slo.TbtS), work, minTime, gain, 1, r),
                RequestClass.Throughput => new WorkUnit(r.ArrivalS, r.ArrivalS + r.Slo.DeadlineS, work, minTime, gain, 1, null),
                // A collective call outside any job is never judged on time; it only takes engine time.
                _ => new WorkUnit(r.ArrivalS, r.ArrivalS + r.Slo.DeadlineS, work, minTime, 0, 0, null),
            });
        }

        foreach (var job in workload.Requests.Where(r => r.Class == RequestClass.Collective && r.JobId is not null).GroupBy(r => r.JobId!.Value))
        {
            // The job's verdict counts from its first arrival, against the deadline its calls carry.
            var release = job.Min(r => r.ArrivalS);
            var whole = job.All(Fits);
            units.Add(new WorkUnit(
                release,
                release + job.First().Slo.DeadlineS,
                job.Sum(Work),
                job.GroupBy(r => r.Stage).Sum(stage => stage.Max(MinTime)),
                whole ? job.Sum(r => w.Of(r.PromptTokens, r.OutputTokens)) : 0,
                whole ? job.Count() : 0,
                null));
        }

        return units;
    }
}
