/*
 * examples/exchange.h: the record of examples/exchange.c, as the notes'
 * <exchange.h> would have it: one currency of the exchange, four of which
 * make up exchange.dat, the file every trader maps shared.
 */
#ifndef EXCHANGE_H
#define EXCHANGE_H

/* How many currencies exchange.dat holds. */
#define NUM_CURRENCIES 4

struct Currency {
    char name[8]; /* "EUR"; all zeros in a new exchange.dat */
    double rate;  /* the price of one unit, in the money of a balance */
    long held;    /* units the exchange holds: buying takes, selling adds */
};

#endif
