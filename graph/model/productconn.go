package model

// ProductConnection is one page of products. Total is how many products
// match over all pages when the catalog mirror answered the list; nil on
// the fallback path, which cannot count (totalCount then errors).
type ProductConnection struct {
	Edges    []*ProductEdge `json:"edges"`
	Nodes    []*Product     `json:"nodes"`
	PageInfo *PageInfo      `json:"pageInfo"`
	Total    *int           `json:"-"`
}
