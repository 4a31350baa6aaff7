package resolvers

// OrderService is the order flow the order resolvers use (package orders).
type OrderService interface{}
