// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title Tabswarm Credit
/// @notice The credit token of a Tabswarm development chain: the owner (the coordinator's
/// key) mints what each epoch's root adds to the distributor. Production may pay any ERC-20.
contract CreditToken is ERC20, Ownable {
    uint8 private immutable _decimals;

    constructor(address owner_, uint8 decimals_) ERC20("Tabswarm Credit", "TSWC") Ownable(owner_) {
        _decimals = decimals_;
    }

    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
