using System.Text.Json;

namespace Tempo.Core;

/// <summary>
/// One request spec as a JSON object, the shape a workload file line has (docs/WORKLOADS.md). <see cref="Write"/>
/// is the one writer of that shape; <see cref="Read"/> reads back exactly what it wrote. Files people author
/// (defaults, named jobs, inferred stage counts) are read by the workload reader instead.
/// </summary>
public static class RequestSpecJson
{
    /// <summary>Writes <paramref name="spec"/> as one JSON object (prompt token ids and sampling are not part of it).</summary>
    public static void Write(Utf8JsonWriter json, RequestSpec spec)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(spec);
        json.WriteStartObject();
        json.WriteNumber("id", spec.Id);
        json.WriteNumber("arrival_s", spec.ArrivalS);
        json.WriteString("class", ClassName(spec.Class));
        json.WriteNumber("prompt_tokens", spec.PromptTokens);
        json.WriteNumber("output_tokens", spec.OutputTokens);
        json.WriteStartObject("slo");
        json.WriteNumber("ttft_s", spec.Slo.TtftS);
        json.WriteNumber("tbt_s", spec.Slo.TbtS);
        json.WriteNumber("deadline_s", spec.Slo.DeadlineS);
        json.WriteEndObject();
        json.WriteNumber("client_id", spec.ClientId);
        json.WriteNumber("priority", spec.Priority);
        if (spec.JobId is { } job)
        {
            json.WriteNumber("job_id", job);
        }
        else
        {
            json.WriteNull("job_id");
        }

        json.WriteNumber("stage", spec.Stage);
        json.WriteNumber("stage_count", spec.StageCount);
        json.WriteString("app", spec.App);
        if (spec.PromptText is not null)
        {
            json.WriteString("prompt", spec.PromptText);
        }

        json.WriteEndObject();
    }

    /// <summary>
    /// Reads an object <see cref="Write"/> wrote. Every field it writes is required, except <c>prompt</c>; a missing
    /// or mistyped field throws <see cref="FormatException"/> naming it, and an invalid spec throws
    /// <see cref="ArgumentException"/> from <see cref="RequestSpec.Validate"/>.
    /// </summary>
    public static RequestSpec Read(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"a request must be a JSON object, got {e.ValueKind.ToString().ToLowerInvariant()}");
        }

        var slo = Field(e, "slo");
        var job = Field(e, "job_id");
        var spec = new RequestSpec
        {
            Id = Field(e, "id").GetInt64(),
            ArrivalS = Field(e, "arrival_s").GetDouble(),
            Class = ParseClass(Field(e, "class").GetString()),
            Slo = new Slo(Field(slo, "ttft_s").GetDouble(), Field(slo, "tbt_s").GetDouble(), Field(slo, "deadline_s").GetDouble()),
            PromptTokens = Field(e, "prompt_tokens").GetInt32(),
            OutputTokens = Field(e, "output_tokens").GetInt32(),
            ClientId = Field(e, "client_id").GetInt32(),
            Priority = Field(e, "priority").GetInt32(),
            JobId = job.ValueKind == JsonValueKind.Null ? null : job.GetInt64(),
            Stage = Field(e, "stage").GetInt32(),
            StageCount = Field(e, "stage_count").GetInt32(),
            App = Field(e, "app").GetString(),
            PromptText = e.TryGetProperty("prompt", out var text) ? text.GetString() : null,
        };
        spec.Validate();
        return spec;
    }

    /// <summary>The file's name for a class.</summary>
    public static string ClassName(RequestClass c) => c switch
    {
        RequestClass.Latency => "latency",
        RequestClass.Throughput => "throughput",
        RequestClass.Collective => "collective",
        _ => throw new ArgumentOutOfRangeException(nameof(c), c, "unknown request class"),
    };

    private static RequestClass ParseClass(string? name) => name switch
    {
        "latency" => RequestClass.Latency,
        "throughput" => RequestClass.Throughput,
        "collective" => RequestClass.Collective,
        _ => throw new FormatException($"unknown class '{name}'; expected latency, throughput or collective"),
    };

    private static JsonElement Field(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) ? v : throw new FormatException($"missing field '{name}'");
}
