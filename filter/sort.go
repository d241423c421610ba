package filter

import "slices"

func sortBySent(rs []*Request) {
	slices.SortStableFunc(rs, func(a, b *Request) int { return a.Sent.Compare(b.Sent) })
}
