namespace ModelLedger.Rewards.Settlement;

/// <summary>
/// The <c>refused</c> rule's measure: the share of a linked group's datanet submissions that intake refused (as an
/// exact or near duplicate, as low quality, …). Junk floods and paraphrase floods are mostly refused by intake, and
/// what slips through (word salad just above the quality threshold, paraphrases too far from their original) is not
/// told apart from honest data item by item; the contributor's record is. Every refusal is a signed
/// <c>contribution.rejected</c> entry, so nobody can spoil another contributor's record. A refusal whose content the
/// same group already had accepted in that datanet (resending its own item: a retried or extended upload) does not
/// count: it costs nobody anything.
/// </summary>
public static class IntakeRecord
{
    public const string Refused = "refused";

    /// <summary>refusals / (refusals + accepted items) over the group's submissions; 0 with none.</summary>
    public static double RefusedShare(IReadOnlyList<Contribution> accepted, IEnumerable<Refusal> refusals)
    {
        var own = accepted.Select(c => (c.Datanet, c.ContentHash)).ToHashSet();
        int refused = refusals.Count(r => !own.Contains((r.Datanet, r.ContentHash)));
        return refused == 0 ? 0 : (double)refused / (refused + accepted.Count);
    }
}
