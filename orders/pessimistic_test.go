package orders_test

import (
	"strings"
	"testing"

	"github.com/exactql/exactql/erp/sandbox"
)

// pessimisticSuite names the test that runs the order suite again against a
// sandbox with every pessimistic switch on (exact-online-api.md §5.9):
// substringof answered 501, Account eq null refused, long URLs refused,
// lines sent without Discount re-priced, Remarks cut to 100 characters.
const pessimisticSuite = "TestOrderSuiteUnderPessimisticSandbox"

// pessimistic reports whether t runs inside the pessimistic suite; newEnv
// then turns the switches on. Keying on the test's name keeps the switch
// out of package state, so the suites may run side by side.
func pessimistic(t *testing.T) bool { return strings.HasPrefix(t.Name(), pessimisticSuite+"/") }

// TestOrderSuiteUnderPessimisticSandbox runs every order test with all
// pessimistic switches on. Orders come out unchanged: the gateway sends
// Discount 0 (so re-pricing does not apply), its reference is on the first
// Remarks line (so truncation keeps it), and it needs neither substringof
// nor long or-chains to find an earlier attempt.
func TestOrderSuiteUnderPessimisticSandbox(t *testing.T) {
	for name, test := range map[string]func(*testing.T){
		"PlaceThreeLinesLandsOnceWithPrices":              TestPlaceThreeLinesLandsOnceWithPrices,
		"PlaceConcurrentDuplicatesMakeOneOrder":           TestPlaceConcurrentDuplicatesMakeOneOrder,
		"PlaceDroppedConnectionEndsWithOneOrder":          TestPlaceDroppedConnectionEndsWithOneOrder,
		"PlaceMaintenancePendingLandsOnceAcrossRestart":   TestPlaceMaintenancePendingLandsOnceAcrossRestart,
		"PlaceRejectedIsNeverRetried":                     TestPlaceRejectedIsNeverRetried,
		"PlaceForbidden":                                  TestPlaceForbidden,
		"PlaceSendsChosenOptions":                         TestPlaceSendsChosenOptions,
		"GetAndListOrders":                                TestGetAndListOrders,
		"ListPagesThroughEqualCreationTimes":              TestListPagesThroughEqualCreationTimes,
		"PlaceValidationErrorsSendAndRecordNothing":       TestPlaceValidationErrorsSendAndRecordNothing,
		"PlacePriceUnavailable":                           TestPlacePriceUnavailable,
		"PlaceUpstreamUnavailableRecordsNothing":          TestPlaceUpstreamUnavailableRecordsNothing,
		"PlaceSendsCurrencyDiscountZeroAndReferenceFirst": TestPlaceSendsCurrencyDiscountZeroAndReferenceFirst,
		"WorkerMatchesBothReferenceForms":                 TestWorkerMatchesBothReferenceForms,
		"PriceMismatchIsLoggedCountedAndExactFiguresKept": TestPriceMismatchIsLoggedCountedAndExactFiguresKept,
		"OrderAmountExcludesVATAndCreatedIsWallClock":     TestOrderAmountExcludesVATAndCreatedIsWallClock,
		"OrdersCursorIsSignedAndValidated":                TestOrdersCursorIsSignedAndValidated,
		"AttemptsPerBuyerAndMinuteAreLimited":             TestAttemptsPerBuyerAndMinuteAreLimited,
		"UnknownReferencesStopTheLookups":                 TestUnknownReferencesStopTheLookups,
		"QuantityAndAmountLimitsSendNothing":              TestQuantityAndAmountLimitsSendNothing,
		"ReferenceSurvivesRemarksTruncation":              TestReferenceSurvivesRemarksTruncation,
	} {
		t.Run(name, test)
	}
}

// switchesOn asserts the sandbox really is pessimistic in this suite.
func switchesOn(t *testing.T, sb *sandbox.Sandbox) {
	t.Helper()
	st := sb.Faults().State()
	if !st.SubstringOf501 || !st.RefuseAccountEqNull || !st.RepriceLines || st.RemarksLimit == 0 || st.MaxURLLength == 0 {
		t.Fatalf("pessimistic switches not all on: %+v", st)
	}
}
